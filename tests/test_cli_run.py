"""The main job through the CLI, as the README's quick start runs it."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from agenttrace_pipeline.cli import app
from agenttrace_pipeline.store.warehouse import Warehouse

runner = CliRunner()


def test_run_materialises_everything_and_says_where_outputs_are(isolated: Path):
    result = runner.invoke(app, ["run", "--seed", "42"])
    assert result.exit_code == 0, result.output
    assert f"DuckDB warehouse : {isolated / 'wh' / 'agenttrace.duckdb'}" in result.stdout
    assert "check mooncake_reference_traces:reference_rows_match_trace_schema: passed" in result.stdout
    assert (isolated / "wh" / "agenttrace.duckdb").exists()
    assert Warehouse().query("SELECT count(DISTINCT asset_key) FROM lineage").item() >= 1


def test_query_prints_warehouse_rows(isolated: Path):
    runner.invoke(app, ["run"])
    result = runner.invoke(app, ["query", "SELECT trace FROM reference_cache_stats ORDER BY 1 LIMIT 1", "--format", "csv"])
    assert result.exit_code == 0 and result.stdout.startswith("trace\n")
    bad = runner.invoke(app, ["query", "SELECT * FROM no_such_table"])
    assert bad.exit_code == 1 and "no_such_table" in bad.output
