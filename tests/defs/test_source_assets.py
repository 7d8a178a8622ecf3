"""Source assets and the canonical tables through Dagster, on the bundled samples (no ../shared/data)."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from agenttrace_pipeline.defs.sources import assets as src
from agenttrace_pipeline.lib.warehouse import WarehouseResource
from agenttrace_pipeline.store.warehouse import Warehouse

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sources"


def _all():
    return [*src.raw_assets, src.agent_turns, src.tool_spans, src.arrivals, src.agent_sessions, src.openhands_trace_shapes]


@pytest.fixture
def samples_only(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AGENTTRACE_SHARED_DATA", str(isolated / "no-shared-data"))
    return isolated


def _run(selection=None):
    return dg.materialize(_all(), selection=selection, resources={"warehouse": WarehouseResource()},
                          instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)


def test_every_source_ingests_and_the_checks_pass(samples_only: Path):
    for _ in range(2):  # a rerun replaces, never duplicates
        result = _run()
        assert result.success
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks == {name: True for name in [*src.CHECKS, src.ACCOUNTING, src.ACCEPTED]}
    wh = Warehouse()
    per_source = dict(wh.query("SELECT source, count(*) FROM agent_turns GROUP BY 1").rows())
    staged = dict(wh.query("SELECT source, count(*) FROM staged_turns GROUP BY 1").rows())
    assert per_source == staged and len(per_source) == 7
    assert wh.query("SELECT bool_and(used_fallback) FROM source_ingest_stats").item() is True
    figures = wh.query("SELECT sum(api_error_records), sum(snapshot_turns), sum(quarantined_traces), "
                       "sum(records_quarantined) FROM source_ingest_stats").row(0)
    assert figures == (0, 0, 0, 0)  # the bundled samples are clean
    assert wh.query("SELECT count(*) FROM arrivals").item() == 60 + 194
    sessions = wh.query("SELECT sum(turns) FROM agent_sessions").item()
    assert sessions == sum(per_source.values())
    shapes = wh.query("SELECT source, turns, tool_calls FROM openhands_trace_shapes ORDER BY source").rows()
    assert shapes == [("openhands_agentsafety", 5, 5), ("openhands_multi_swe_bench", 6, 6)]
    meta = result.asset_materializations_for_node("agenttrace_raw")[0].metadata
    assert meta["used_fallback"].value is True and "bundled sample" in meta["notes"].value
    lineage = wh.query("SELECT asset_key, count(*) FROM lineage GROUP BY 1").rows()
    assert dict(lineage)["agent_turns"] == 2


def test_a_broken_staged_table_fails_its_check_and_blocks_downstream(samples_only: Path):
    assert _run().success
    wh = Warehouse()
    path = wh.partition_path("staged_turns", "source", "tracelab_rounds")
    bad = pl.read_parquet(path).with_columns(pl.when(pl.col("turn_index") == 2).then(-7).otherwise(pl.col("completion_tokens"))
                                             .alias("completion_tokens"))
    bad.write_parquet(path)
    before = wh.partition_path("agent_turns", "source", "tracelab_rounds").read_bytes()
    result = _run(selection=[src.agent_turns, src.agent_sessions, src.tool_spans])
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks["tokens_are_non_negative"] is False and checks["turn_indexes_are_contiguous"] is True
    failing = next(e for e in result.get_asset_check_evaluations() if e.check_name == "tokens_are_non_negative")
    sample = Path(__file__).resolve().parents[2] / "assets_config" / "samples" / "sources" / "tracelab" / "round_trace.jsonl"
    [row] = failing.metadata["rows"].value
    assert row.startswith(f"{sample}:3 (tracelab_rounds/") and row.endswith("/2)")  # FILE:LINE (source/trace/turn)
    assert not result.asset_materializations_for_node("agent_sessions")  # blocked by the failing check
    assert wh.partition_path("agent_turns", "source", "tracelab_rounds").read_bytes() == before


@pytest.fixture
def user_sources(samples_only: Path, monkeypatch: pytest.MonkeyPatch):
    """Write a user's sources file, point AGENTTRACE_SOURCES at it and reload the source assets; restore after."""
    path = samples_only / "my_sources.json"

    def load(content) -> None:
        path.write_text(content if isinstance(content, str) else json.dumps(content))
        monkeypatch.setenv("AGENTTRACE_SOURCES", str(path))
        importlib.reload(src)

    yield load
    monkeypatch.delenv("AGENTTRACE_SOURCES", raising=False)
    importlib.reload(src)


def test_malformed_records_reach_quarantine_through_the_raw_assets(user_sources):
    user_sources({"mode": "replace", "sources": [
        {"name": "cc_logs", "format": "claude_code", "locations": [
            str(FIXTURES / "claude_code" / "*" / "trace.jsonl"), str(FIXTURES / "wrong_types" / "claude_code" / "trace.jsonl")]},
        {"name": "at_bad", "format": "agenttrace", "locations": [
            str(FIXTURES / c / "agenttrace.jsonl") for c in ("wrong_types", "timestamp_overflow", "token_overflow",
                                                             "duplicate_keys", "contract")]},
        {"name": "tl_bad", "format": "tracelab", "locations": [str(FIXTURES / "contract" / "tracelab.jsonl")]},
        {"name": "az_ragged", "format": "azure_arrivals", "locations": [str(FIXTURES / "ragged_csv" / "azure.csv")]},
    ]})
    assert [s.name for s in src.SPECS] == ["cc_logs", "at_bad", "tl_bad", "az_ragged"]
    result = _run()
    assert result.success
    assert all(e.passed for e in result.get_asset_check_evaluations())  # the contract held after quarantine
    wh = Warehouse()
    stats = {r[0]: r[1:] for r in wh.query(
        "SELECT source, records_in, records_accepted, records_quarantined, api_error_records, snapshot_turns, "
        "quarantined_traces FROM source_ingest_stats").rows()}
    assert stats["cc_logs"][3:] == (1, 4, 0) and stats["tl_bad"][2:] == (3, 0, 0, 1) and stats["az_ragged"][:3] == (8, 7, 1)
    assert all(r[0] == r[1] + r[2] for r in stats.values())
    rows = wh.query("SELECT source, file, record, field FROM quarantine ORDER BY source, file, record").rows()
    assert ("az_ragged", str(FIXTURES / "ragged_csv" / "azure.csv"), "5", "") in rows
    assert ("cc_logs", str(FIXTURES / "wrong_types" / "claude_code" / "trace.jsonl"), "7", "message.usage") in rows
    assert ("at_bad", str(FIXTURES / "token_overflow" / "agenttrace.jsonl"), "2", "llm_steps[0].prompt_tokens") in rows
    assert wh.query("SELECT count(*) FROM quarantine WHERE source = 'at_bad'").item() == 4 + 1 + 1 + 1 + 1
    traces = wh.query("SELECT count(DISTINCT trace_id) FROM agent_turns WHERE source = 'cc_logs'").item()
    assert traces == 1 + 3 + 1 + 1  # api errors; main + 2 side chains; snapshots; wrong types
    meta = result.asset_materializations_for_node("cc_logs_raw")[0].metadata
    assert (meta["api_error_records"].value, meta["snapshot_turns"].value) == (1, 4)
    examples = result.asset_materializations_for_node("az_ragged_raw")[0].metadata["quarantined_examples"].value
    assert examples == [f"{FIXTURES / 'ragged_csv' / 'azure.csv'}:5 (record): ragged line: 4 fields where the header has 3"]


def test_a_user_sources_file_extends_the_bundled_list(user_sources):
    user_sources({"sources": [{"name": "my_claude", "format": "claude_code",
                               "locations": [str(FIXTURES / "claude_code" / "sidechains" / "trace.jsonl")]}]})
    assert [s.name for s in src.SPECS][-1] == "my_claude" and len(src.SPECS) == 10
    result = _run(selection=[dg.AssetKey("my_claude_raw")])
    assert result.success
    assert Warehouse().query("SELECT count(DISTINCT trace_id) FROM staged_turns WHERE source = 'my_claude'").item() == 3


def test_a_bad_sources_file_fails_the_source_assets_not_the_code_location(user_sources):
    from agenttrace_pipeline.definitions import defs

    user_sources({"sources": [{"name": "mine", "format": "claude_code", "locatons": []}]})
    graph = defs().resolve_asset_graph()  # the code location still loads
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert "agent_turns" in keys and "generator_profiles" in keys and not any(k.endswith("_raw") for k in keys)
    result = dg.materialize([src.agent_turns], resources={"warehouse": WarehouseResource()},
                            instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
    assert not result.success
    failure = result.failure_data_for_node("agent_turns")
    assert "my_sources.json: sources[0].locatons (source 'mine'): unknown field 'locatons' (did you mean 'locations'?)" \
        in failure.error.message
