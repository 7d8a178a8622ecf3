"""The validator through its public entry point, ``agenttrace validate mooncake-trace``."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from agenttrace_pipeline.cli import app
from agenttrace_pipeline.trace.validator import validate_file
from tests.conftest import FIXTURES

BAD = FIXTURES / "bad_traces"
_ALL = json.loads((BAD / "expected.json").read_text())
EXPECTED = {k: v for k, v in _ALL.items() if not k.startswith("$")}
CLI_ARGS: dict[str, list[str]] = _ALL["$cli_args"]  # files checked with extra options
runner = CliRunner()


def _kwargs(name: str) -> dict:
    """The validate_file keywords of a fixture's CLI options."""
    args = CLI_ARGS.get(name, [])
    out: dict = {}
    if "--require-token-counts" in args:
        out["require_token_counts"] = True
    if "--max-line-bytes" in args:
        out["max_line_bytes"] = int(args[args.index("--max-line-bytes") + 1])
    return out


def cli_validate(path: Path, *extra: str):
    return runner.invoke(app, ["validate", "mooncake-trace", "--input", str(path), *extra])


def test_corpus_covers_at_least_fifteen_kinds():
    assert len(EXPECTED) >= 15
    assert sorted(EXPECTED) == sorted(p.name for p in BAD.glob("*.jsonl*"))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_broken_trace_gets_the_right_error_at_the_right_line(name: str):
    result = cli_validate(BAD / name, "--json", *CLI_ARGS.get(name, []))
    assert result.exit_code == 1, result.output
    report = orjson.loads(result.stdout)
    assert report["valid"] is False
    got = [(v["line"], v["field"], v["reason"]) for v in report["violations"]]
    assert [(g[0], g[1]) for g in got] == [(e[0], e[1]) for e in EXPECTED[name]], got
    for (_, _, reason), (_, _, want) in zip(got, EXPECTED[name], strict=True):
        assert want in reason


def test_human_output_names_file_line_field_and_reason():
    result = cli_validate(BAD / "strings_for_numbers.jsonl")
    assert result.exit_code == 1
    assert f"{BAD / 'strings_for_numbers.jsonl'}:1: input_length: must be an integer, got string '600'" in result.stdout


def test_valid_rows_around_a_bad_one_are_still_counted():
    report = validate_file(BAD / "invalid_json.jsonl")
    assert report.rows == 2 and [v.line for v in report.violations] == [2]


def test_unreadable_file_exits_2(tmp_path: Path):
    assert cli_validate(tmp_path / "missing.jsonl").exit_code == 2
    assert cli_validate(tmp_path).exit_code == 2  # a directory


def test_valid_multi_turn_trace_exits_0(tmp_path: Path):
    rows = [
        {"session_id": "s1", "input_length": 1100, "output_length": 20, "hash_ids": [0, 1, 2], "timestamp": 0.0, "group_id": 0},
        {"session_id": "s1", "input_length": 300, "output_length": 20, "hash_ids": [3], "delay": 1500.5},
        {"session_id": "s2", "input_length": 1024, "output_length": 20, "hash_ids": [0, 1], "timestamp": 10.0, "group_id": 0},
        {"session_id": "s3", "input_length": 1500, "output_length": 20, "hash_ids": [0, 1, 4], "timestamp": 5.0,
         "group_id": 0, "is_restart": True},
    ]
    path = tmp_path / "ok.jsonl"
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    result = cli_validate(path)
    assert result.exit_code == 0, result.output
    assert "valid multi-turn trace: 4 rows, 3 sessions" in result.stdout


def test_max_errors_stops_early(tmp_path: Path):
    path = tmp_path / "many.jsonl"
    path.write_text("".join('{"timestamp":0,"input_length":-1,"output_length":1}\n' for _ in range(50)))
    report = orjson.loads(cli_validate(path, "--json", "--max-errors", "5").stdout)
    assert report["stopped_early"] is True and len(report["violations"]) == 5


def test_conflicts_found_across_chunk_flushes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import agenttrace_pipeline.trace.row_checks as rc

    monkeypatch.setattr(rc, "FLUSH_IDS", 4)  # force many small chunks
    rows = [{"timestamp": i, "input_length": 600, "output_length": 1, "hash_ids": [2 * i, 2 * i + 1]} for i in range(20)]
    rows.append({"timestamp": 99, "input_length": 1536, "output_length": 1, "hash_ids": [0, 3, 100]})
    path = tmp_path / "t.jsonl"
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    report = validate_file(path)
    assert [(x.line, x.field) for x in report.violations] == [(21, "hash_ids")]
    assert "hash id 3 is a block of 512 tokens here but of 88 tokens at line 2" in report.violations[0].reason


def test_real_fast25_traces_are_valid(shared_data: Path):
    for name, rows in [("conversation_trace.jsonl", 12031), ("synthetic_trace.jsonl", 3993)]:
        report = validate_file(shared_data / "mooncake" / name)
        assert report.valid and report.rows == rows and report.form == "single-turn"


@pytest.fixture
def forced_fast_path(monkeypatch: pytest.MonkeyPatch):
    """Use the vectorised path for every file, in tiny chunks, so chunk boundaries fall everywhere."""
    import agenttrace_pipeline.trace.validator as v

    monkeypatch.setattr(v, "FAST_PATH_MIN_BYTES", 0)
    monkeypatch.setattr(v, "CHUNK_BYTES", 97)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fast_path_reports_exactly_what_the_line_path_reports(name: str, forced_fast_path):
    report = validate_file(BAD / name, **_kwargs(name))
    got = [(v.line, v.field) for v in report.violations]
    assert got == [(e[0], e[1]) for e in EXPECTED[name]]


def test_fast_path_certifies_valid_traces_identically(tmp_path: Path, forced_fast_path):
    sample = Path(__file__).resolve().parents[2] / "assets_config" / "samples" / "mooncake_sample.jsonl"
    rep = validate_file(sample)
    assert rep.valid and rep.rows == 194


def test_fast_path_on_real_traces(shared_data: Path, monkeypatch: pytest.MonkeyPatch):
    import agenttrace_pipeline.trace.validator as v

    monkeypatch.setattr(v, "FAST_PATH_MIN_BYTES", 0)
    monkeypatch.setattr(v, "CHUNK_BYTES", 1 << 16)
    rep = validate_file(shared_data / "mooncake" / "conversation_trace.jsonl")
    assert rep.valid and rep.rows == 12031 and rep.distinct_hash_ids == 182790


def test_fast_path_certifies_generated_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import agenttrace_pipeline.trace.fast_path as fp
    import agenttrace_pipeline.trace.validator as v
    from agenttrace_pipeline.synth.config import load_config
    from agenttrace_pipeline.synth.generate import synthesize

    _, cfg = load_config("default")
    res = synthesize(cfg, num_sessions=300, seed=3, output_root=tmp_path, run_name="r", validate=False)
    monkeypatch.setattr(v, "FAST_PATH_MIN_BYTES", 0)
    monkeypatch.setattr(v, "CHUNK_BYTES", 1 << 15)
    outcomes = []
    real = fp.certify
    monkeypatch.setattr(fp, "certify", lambda *a: outcomes.append(real(*a)) or outcomes[-1])
    rep = validate_file(res.dataset)
    assert rep.valid and rep.rows == res.rows and rep.sessions == res.manifest["sessions_emitted"]
    assert len(outcomes) > 10 and all(o is not None for o in outcomes)
