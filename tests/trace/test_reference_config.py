"""reference_traces.json as a model, trace names, and what reference ingest accepts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agenttrace_pipeline.sources.mooncake_reference import (
    ConfigError,
    TraceRejected,
    ingest_reference_trace,
    load_reference_config,
    resolve_specs,
)
from tests.conftest import FIXTURES

PROJECT = Path(__file__).resolve().parents[2]
SAMPLE = PROJECT / "assets_config" / "samples" / "mooncake_sample.jsonl"


def _write(tmp_path: Path, **overrides) -> Path:
    cfg = {"$comment": "test", "block_size": 512, "lru_capacities": [1000],
           "traces": [{"name": "sample", "location": str(SAMPLE)}]}
    cfg.update(overrides)
    path = tmp_path / "reference_traces.json"
    path.write_text(json.dumps(cfg, ensure_ascii=False))
    return path


def _error(path: Path) -> str:
    with pytest.raises(ConfigError) as exc:
        load_reference_config(path)
    return str(exc.value)


def test_the_bundled_config_loads():
    cfg = load_reference_config(PROJECT / "assets_config" / "reference_traces.json")
    assert cfg.block_size == 512 and [t.name for t in cfg.traces] == ["conversation", "synthetic"]
    assert cfg.fallback is not None and cfg.fallback.name == "bundled_sample"


@pytest.mark.parametrize(("override", "field", "words"), [
    ({"lru_capacities": [1000, -5]}, "lru_capacities[1]", "greater than 0"),
    ({"lru_capacities": [1000, 1.5]}, "lru_capacities[1]", "valid integer"),
    ({"lru_capacities": ["6000"]}, "lru_capacities[0]", "valid integer"),
    ({"block_size": 0}, "block_size", "greater than or equal to 1"),
    ({"block_size": True}, "block_size", "valid integer"),
    ({"block_sise": 512}, "block_sise", "unknown field (did you mean 'block_size'?)"),
    ({"traces": [{"name": "a/../../b", "location": "x"}]}, "traces[0].name", "cannot name a trace"),
    ({"traces": [{"name": "ok", "location": "x", "optinal": True}]}, "traces[0].optinal", "did you mean 'optional'"),
    ({"traces": [{"name": "ok", "location": "x", "sha256": "abc"}]}, "traces[0].sha256", "should match pattern"),
])
def test_each_bad_field_is_named_with_the_file(tmp_path: Path, override: dict, field: str, words: str):
    message = _error(_write(tmp_path, **override))
    assert f"{tmp_path / 'reference_traces.json'}: {field}: " in message and words in message, message


def test_two_traces_with_one_name_are_rejected_even_by_case(tmp_path: Path):
    message = _error(_write(tmp_path, traces=[{"name": "Conv", "location": "a"}, {"name": "conv", "location": "b"}]))
    assert "traces[1]: trace name 'conv' is already used by traces[0]" in message


def test_a_non_ascii_name_is_allowed_and_normalised(tmp_path: Path):
    decomposed = "cafe\u0301"  # what some systems type for café
    cfg = load_reference_config(_write(tmp_path, traces=[{"name": decomposed, "location": str(SAMPLE)}]))
    assert cfg.traces[0].name == "café" and len(cfg.traces[0].name) == 4
    message = _error(_write(tmp_path, traces=[{"name": decomposed, "location": "a"}, {"name": "CAFÉ", "location": "b"}]))
    assert "already used by traces[0]" in message


def test_an_extra_location_that_resolves_to_a_configured_name_is_refused(tmp_path: Path):
    cfg = load_reference_config(_write(tmp_path))
    specs, _ = resolve_specs(cfg, ["/data/café.jsonl.gz", "https://host/x/my%20trace.jsonl?token=secret"])
    assert [s.name for s in specs] == ["sample", "café", "my_trace"]
    with pytest.raises(ConfigError, match=r"extra_locations\[0\]: trace name 'sample' is already used by the configured"):
        resolve_specs(cfg, [str(tmp_path / "sample.jsonl")])
    with pytest.raises(ConfigError, match=r"extra_locations\[1\]"):
        resolve_specs(cfg, ["/a/t.jsonl", "/b/T.jsonl.gz"])


def test_text_input_rows_are_rejected_at_ingest_with_their_line():
    spec = load_reference_config(PROJECT / "assets_config" / "reference_traces.json").fallback.model_copy(
        update={"name": "t", "location": str(FIXTURES / "bad_traces" / "text_input_rows.jsonl")})
    with pytest.raises(TraceRejected) as exc:
        ingest_reference_trace(spec)
    assert exc.value.problems == [f"{FIXTURES / 'bad_traces' / 'text_input_rows.jsonl'}:2: text_input: a text_input "
                                  "row has no token counts: the trace table stores input_length rows only (AIPerf "
                                  "can replay it, but it cannot be ingested)"]


def test_a_gzip_reference_trace_is_ingested(tmp_path: Path):
    import gzip

    path = tmp_path / "s.jsonl.gz"
    path.write_bytes(gzip.compress(SAMPLE.read_bytes()))
    cfg = load_reference_config(_write(tmp_path, traces=[{"name": "s", "location": str(path)}]))
    it = ingest_reference_trace(cfg.traces[0], cfg.block_size, cfg.lru_capacities)
    assert it.table.height == 194 and it.report.compressed and 0 < it.infinite_hit_rate < 1
