from __future__ import annotations

from pathlib import Path

import orjson
import pandera.errors
import polars as pl
import pytest

from agenttrace_pipeline.trace import validate_file, write_rows
from agenttrace_pipeline.trace.schema import TRACE_COLUMNS, read_trace_table, trace_table_schema

ROWS = [
    {"delay": None, "timestamp": 0.0, "hash_ids": [0, 1], "output_length": 9, "input_length": 700, "session_id": "s",
     "group_id": 3},
    {"session_id": "s", "input_length": 10, "output_length": 9, "hash_ids": [2], "delay": 250.0},
]


def test_rows_are_compact_in_contract_key_order(tmp_path: Path):
    written = write_rows(tmp_path / "d.jsonl", ROWS)
    lines = (tmp_path / "d.jsonl").read_text().splitlines()
    assert lines[0] == '{"session_id":"s","input_length":700,"output_length":9,"hash_ids":[0,1],"timestamp":0.0,"group_id":3}'
    assert lines[1] == '{"session_id":"s","input_length":10,"output_length":9,"hash_ids":[2],"delay":250.0}'
    assert written.rows == 2 and validate_file(tmp_path / "d.jsonl").valid


def test_a_failed_write_leaves_the_old_file_and_no_temp(tmp_path: Path):
    target = tmp_path / "d.jsonl"
    write_rows(target, ROWS)
    before = target.read_bytes()

    def broken():
        yield ROWS[0]
        raise RuntimeError("generator died")

    with pytest.raises(RuntimeError):
        write_rows(target, broken())
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["d.jsonl"]


def test_trace_table_has_turn_indexes_and_passes_the_schema(tmp_path: Path):
    write_rows(tmp_path / "d.jsonl", ROWS)
    df = read_trace_table(tmp_path / "d.jsonl")
    assert df.columns == list(TRACE_COLUMNS) and df["turn"].to_list() == [0, 1]
    trace_table_schema(512).validate(df)


def test_schema_rejects_broken_rows_with_failure_cases(tmp_path: Path):
    write_rows(tmp_path / "d.jsonl", ROWS)
    df = read_trace_table(tmp_path / "d.jsonl").with_columns(
        pl.Series("input_length", [700, -1]), pl.Series("hash_ids", [[0], [2]]))
    with pytest.raises(pandera.errors.SchemaErrors) as exc:
        trace_table_schema(512).validate(df, lazy=True)
    checks = set(exc.value.failure_cases["check"].to_list())
    assert "in_range(1, 2147483647)" in checks  # bounds from rules.FIELDS, as the validator uses
    assert any("input_length <= len(hash_ids)" in c for c in checks)


SESSION = [{"session_id": "s", "input_length": 700, "output_length": 9, "hash_ids": [0, 1], "timestamp": 0.0},
           {"session_id": "s", "input_length": 10, "output_length": 9, "hash_ids": [2], "delay": 250.0}]
CASES = {
    "valid session": SESSION,
    "valid single-turn": [{"input_length": 10, "output_length": 1, "timestamp": 3.0}],
    "delay on turn 0": [{**SESSION[0], "delay": 1.0}, SESSION[1]],
    "no delay on a later turn": [SESSION[0], {k: v for k, v in SESSION[1].items() if k != "delay"}],
    "group_id on a later turn": [SESSION[0], {**SESSION[1], "group_id": 2}],
    "delay on a single-turn row": [{"input_length": 10, "output_length": 1, "timestamp": 3.0, "delay": 1.0}],
    "zero output": [{"input_length": 10, "output_length": 0}],
    "negative timestamp": [{"input_length": 10, "output_length": 1, "timestamp": -1.0}],
    "too few ids": [{"input_length": 1100, "output_length": 1, "hash_ids": [0, 1]}],
    "negative id": [{"input_length": 10, "output_length": 1, "hash_ids": [-3]}],
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_validator_and_pandera_schema_agree_because_they_share_the_rules(case: str, tmp_path: Path):
    path = tmp_path / "t.jsonl"
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in CASES[case]))
    by_validator = validate_file(path).valid
    try:
        trace_table_schema(512).validate(read_trace_table(path), lazy=True)
        by_schema = True
    except pandera.errors.SchemaErrors:
        by_schema = False
    assert by_validator == by_schema == case.startswith("valid")
