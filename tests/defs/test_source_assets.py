"""Source assets and the canonical tables through Dagster, on the bundled samples (no ../shared/data)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from agenttrace_pipeline.defs.lib.warehouse import WarehouseResource
from agenttrace_pipeline.defs.sources import assets as src
from agenttrace_pipeline.store.warehouse import Warehouse

ALL = [*src.raw_assets, src.agent_turns, src.tool_spans, src.arrivals, src.agent_sessions, src.openhands_trace_shapes]


@pytest.fixture
def samples_only(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AGENTTRACE_SHARED_DATA", str(isolated / "no-shared-data"))
    return isolated


def _run(selection=None):
    return dg.materialize(ALL, selection=selection, resources={"warehouse": WarehouseResource()},
                          instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)


def test_every_source_ingests_and_the_checks_pass(samples_only: Path):
    for _ in range(2):  # a rerun replaces, never duplicates
        result = _run()
        assert result.success
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks == {name: True for name in [*src.CHECKS, src.ACCOUNTING]}
    wh = Warehouse()
    per_source = dict(wh.query("SELECT source, count(*) FROM agent_turns GROUP BY 1").rows())
    staged = dict(wh.query("SELECT source, count(*) FROM staged_turns GROUP BY 1").rows())
    assert per_source == staged and len(per_source) == 7
    assert wh.query("SELECT bool_and(used_fallback) FROM source_ingest_stats").item() is True
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
    assert not result.asset_materializations_for_node("agent_sessions")  # blocked by the failing check
    assert wh.partition_path("agent_turns", "source", "tracelab_rounds").read_bytes() == before
