"""The main job through the CLI, as the README's quick start runs it: with the real traces, on a bare
machine (no ../shared/data), and failing loudly."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from agenttrace_pipeline.cli import app
from agenttrace_pipeline.store.warehouse import Warehouse

runner = CliRunner()


def _run(*args: str):
    return runner.invoke(app, ["run", *args])


def test_run_materialises_everything_and_says_where_outputs_are(isolated: Path, shared_data: Path):
    result = _run("--seed", "42")
    assert result.exit_code == 0, result.output
    assert f"DuckDB warehouse : {isolated / 'wh' / 'agenttrace.duckdb'}" in result.stdout
    assert "0 failed" in result.stdout and "FAILED" not in result.output
    assert (isolated / "wh" / "agenttrace.duckdb").exists()
    wh = Warehouse()
    assert wh.query("SELECT count(DISTINCT asset_key) FROM lineage").item() >= 10
    assert wh.query("SELECT count(*) FROM synthetic_datasets").item() == 1
    # unpartitioned assets carry no partition key in lineage, whatever the run's partition
    keys = dict(wh.query("SELECT asset_key, any_value(partition_key) FROM lineage GROUP BY 1").rows())
    assert keys["distribution_fits"] is None and keys["synthetic_dataset"] == "42"


def test_run_on_a_bare_machine_without_shared_data(isolated: Path, monkeypatch: pytest.MonkeyPatch):
    """No ../shared/data: the bundled samples alone carry the whole job, twice in a row."""
    monkeypatch.setenv("AGENTTRACE_SHARED_DATA", str(isolated / "no-shared-data"))
    for _ in range(2):  # the second run reads what the first wrote
        result = _run()
        assert result.exit_code == 0, result.output
    wh = Warehouse()
    assert wh.query("SELECT count(*) FROM synthetic_datasets").item() == 1
    assert wh.query("SELECT count(*) FROM generator_profiles").item() >= 1
    assert wh.query("SELECT bool_and(used_fallback) FROM source_ingest_stats WHERE format <> 'mooncake_arrivals' "
                    "AND format <> 'azure_arrivals'").item() is True


def test_a_failed_run_says_so_first_and_last_with_the_file_and_line(isolated: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AGENTTRACE_SHARED_DATA", str(isolated / "no-shared-data"))
    result = _run("--profile", "no_such_profile")
    assert result.exit_code == 1
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert lines[0].startswith("materialising") and lines[1].startswith("the run failed")
    assert "FAILED step synthetic_dataset" in lines[2] and "no_such_profile" in lines[2]
    assert ".py:" in lines[2]  # the file and line to look at
    assert any("FAILED step synthetic_dataset" in ln for ln in lines[-3:])
    assert "DuckDB warehouse :" not in result.output  # no outputs summary as if it had succeeded


@pytest.mark.parametrize("seed", ["abc", "-1", "../../etc", "", "18446744073709551616"])
def test_a_bad_seed_is_refused_before_anything_runs(isolated: Path, seed: str):
    result = _run("--seed", seed)
    assert result.exit_code == 2 and "bad seed" in result.output
    assert not (isolated / "wh").exists()
    listed = runner.invoke(app, ["seeds", "list"])
    assert seed not in listed.stdout.split() or seed == ""


def test_seeds_add_remove_and_bad_ranges(isolated: Path):
    assert "added 3 seed partition(s): 1 2 3" in runner.invoke(app, ["seeds", "add", "1-3"]).stdout
    bad = runner.invoke(app, ["seeds", "add", "9-2"])
    assert bad.exit_code == 2 and "did you mean 2-9" in bad.output
    assert runner.invoke(app, ["seeds", "remove", "2"]).exit_code == 0
    assert runner.invoke(app, ["seeds", "list"]).stdout.split() == ["1", "3"]
    missing = runner.invoke(app, ["seeds", "remove", "7"])
    assert missing.exit_code == 2 and "not a seed partition" in missing.output


def test_query_prints_warehouse_rows(isolated: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AGENTTRACE_SHARED_DATA", str(isolated / "no-shared-data"))
    runner.invoke(app, ["run"])
    result = runner.invoke(app, ["query", "SELECT trace FROM reference_cache_stats ORDER BY 1 LIMIT 1", "--format", "csv"])
    assert result.exit_code == 0 and result.stdout.startswith("trace\n")
    bad = runner.invoke(app, ["query", "SELECT * FROM no_such_table"])
    assert bad.exit_code == 1 and "no_such_table" in bad.output
