"""The benchmark report from a warehouse materialised by the main job: through `agenttrace report` and the
``benchmark_report`` asset, its joins, and its escaping of what the warehouse holds."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from agenttrace_pipeline.cli import app
from agenttrace_pipeline.reports.benchmark import build_report
from agenttrace_pipeline.reports.benchmark_data import load
from agenttrace_pipeline.store.warehouse import Warehouse
from tests.materialised_warehouse import materialised, use

runner = CliRunner()


@pytest.fixture
def warehouse_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    env = materialised(tmp_path_factory)
    use(env, monkeypatch)
    return env


def test_the_main_job_writes_the_report_and_its_lineage(warehouse_env: dict[str, str]) -> None:
    page = Path(warehouse_env["AGENTTRACE_OUTPUT"]) / "reports" / "benchmark_report.html"
    assert page.is_file()
    wh = Warehouse()
    assert wh.query("SELECT count(*) FROM lineage WHERE asset_key = 'benchmark_report'").item() == 2  # one per run
    inputs = wh.query("SELECT input_fingerprints FROM lineage WHERE asset_key = 'benchmark_report' "
                      "ORDER BY materialized_at DESC LIMIT 1").item()
    assert '"replay_run[7]"' in inputs and '"replay_run[42]"' in inputs
    seeds = wh.query("SELECT DISTINCT seed FROM check_results WHERE asset_key = 'synthetic_dataset' ORDER BY 1")
    assert seeds["seed"].to_list() == ["42", "7"]


def test_views_join_a_dataset_back_to_its_source_files(warehouse_env: dict[str, str]) -> None:
    data = load(Warehouse())
    files = data["dataset_sources"]
    fitted = files.filter(pl.col("seed") == 42)
    assert fitted["profile"].unique().to_list() == ["fitted_pooled_coding_agents"]
    lineage = Warehouse().lineage().filter(pl.col("asset_key") == "mini_swe_agent_chat_raw")
    sha = next(v for k, v in pl.Series(lineage["input_fingerprints"]).str.json_decode().to_list()[-1].items()
               if k.endswith(".jsonl") or "sample" in k)
    assert sha in fitted.filter(pl.col("source") == "mini_swe_agent_chat")["sha256"].to_list()
    bundled = files.filter(pl.col("seed") == 7)
    assert bundled.height == 1 and bundled["source"].to_list() == [None]  # the default profile has no sources
    hits = data["hit_rates"].sort("seed")
    assert hits["replay_id"].null_count() == 0 and hits["real_hit_rate"].to_list()[1] is not None


def test_report_cli_rebuilds_the_page_from_the_warehouse(warehouse_env: dict[str, str], tmp_path: Path) -> None:
    target = tmp_path / "r.html"
    result = runner.invoke(app, ["report", "--output", str(target)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(target)
    html = target.read_text()
    assert "2 seed(s), 2 replay(s)" in html
    assert "none yet" in html  # no replay_comparisons table in this warehouse


def test_an_empty_warehouse_gives_a_page_that_says_so(isolated: Path) -> None:
    result = runner.invoke(app, ["report"])
    assert result.exit_code == 0, result.output
    html = (isolated / "outputs" / "reports" / "benchmark_report.html").read_text()
    assert "no datasets yet" in html and "0 seed(s)" in html and "no dataset yet" in result.output


def test_strings_from_the_warehouse_are_escaped(isolated: Path) -> None:
    wh = Warehouse()
    evil = "<img src=x onerror=alert(1)>"
    wh.write_partition("synthetic_datasets", "seed", "5", pl.DataFrame([{
        "dataset_id": f"d-{evil}", "profile": evil, "num_sessions": 1, "sessions_emitted": 1,
        "restart_continuations": 0, "rows": 1, "path": "/nowhere", "dataset_sha256": "ab", "config_sha256": "cd",
        "tool_version": "0", "run_id": "r"}]))
    html = build_report(wh).path.read_text()
    assert evil not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
