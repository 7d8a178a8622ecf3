"""The KV-cache study through its public entry points: the `agenttrace simulate` command and the
`cache_simulation` asset."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import orjson
import polars as pl
import pytest
from typer.testing import CliRunner

from agenttrace_pipeline.analysis.cache_study import StudyOptions, capacity_from_bytes, run_study
from agenttrace_pipeline.cli import app
from agenttrace_pipeline.store.warehouse import Warehouse

runner = CliRunner()


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ds")
    res = runner.invoke(app, ["synthesize", "agentic-code", "--num-sessions", "150", "--seed", "3", "--output", str(out),
                              "--yes"])
    assert res.exit_code == 0, res.output
    # synthesize writes the three pages by default
    assert {"report.html", "cache_explorer.html", "simulation.html"} <= {p.name for p in next(out.glob("*/")).iterdir()}
    return next(out.glob("*/dataset.jsonl"))


def test_lru_hit_rate_grows_with_capacity_and_never_beats_the_infinite_cache(dataset: Path):
    study = run_study(dataset, StudyOptions(policies=("lru", "fifo"), capacities=(200, 800, 3200), concurrency=8))
    curve = study.curve()
    lru = curve.filter(pl.col("policy") == "lru")["hit_rate"].to_list()
    assert lru == sorted(lru) and lru[0] < lru[-1]  # LRU's inclusion property
    assert curve["hit_rate"].max() <= study.theoretical_hit_rate + 1e-12
    layers = study.table.filter((pl.col("layer") != "all") & (pl.col("tier") == "all") & (pl.col("policy") == "lru"))
    whole = study.table.filter((pl.col("layer") == "all") & (pl.col("policy") == "lru"))
    assert layers.group_by("capacity_blocks").agg(pl.col("hit_tokens").sum()).sort("capacity_blocks")["hit_tokens"] \
        .to_list() == pytest.approx(whole.sort("capacity_blocks")["hit_tokens"].to_list())
    assert curve["ttft_p50_ms"].drop_nulls().min() > 0


def test_capacity_in_gigabytes():
    # 1 GB at 128 KiB per token (a 70B-class model) and 512-token blocks
    assert capacity_from_bytes(1.0, 131072, 512) == 14
    with pytest.raises(ValueError):
        capacity_from_bytes(0, 1, 512)


def test_simulate_command_prints_the_curve_by_layer_and_writes_json(dataset: Path, tmp_path: Path):
    res = runner.invoke(app, ["simulate", "--input", str(dataset.parent), "--policy", "lru", "--capacity", "400",
                              "--capacity-gb", "1", "--kv-bytes-per-token", "131072", "--concurrency", "4",
                              "--json", str(tmp_path / "s.json")])
    assert res.exit_code == 0, res.output
    assert "hit rate by policy and capacity" in res.stdout and "hit rate by prefix layer" in res.stdout
    assert "theoretical (infinite cache) hit rate" in res.stdout and "L3" in res.stdout
    data = orjson.loads((tmp_path / "s.json").read_bytes())
    assert {r["capacity_blocks"] for r in data["rows"]} == {400, 14, None}
    bad = runner.invoke(app, ["simulate", "--input", str(tmp_path / "missing.jsonl")])
    assert bad.exit_code == 2 and "no such dataset" in bad.output


def test_fast25_conversation_figures_through_the_command(shared_data: Path):
    res = runner.invoke(app, ["simulate", "--input", str(shared_data / "mooncake" / "conversation_trace.jsonl"),
                              "--policy", "lru", "--capacity", "1000", "--capacity", "6000", "--capacity", "50000",
                              "--concurrency", "0"])
    assert res.exit_code == 0, res.output
    for figure in ("4.54%", "14.13%", "36.15%", "37.36%"):
        assert figure in res.stdout


def test_no_pages_skips_the_pages(tmp_path: Path):
    res = runner.invoke(app, ["synthesize", "agentic-code", "--num-sessions", "20", "--output", str(tmp_path), "--yes",
                              "--no-pages"])
    assert res.exit_code == 0, res.output
    assert not list(tmp_path.glob("*/*.html"))


def test_cache_simulation_and_pages_assets_per_seed(isolated: Path):
    from agenttrace_pipeline.defs.analysis.assets import cache_simulation, dataset_pages
    from agenttrace_pipeline.defs.synthesis.assets import synthetic_dataset
    from agenttrace_pipeline.lib.warehouse import WarehouseResource

    instance = dg.DagsterInstance.get()
    instance.add_dynamic_partitions("seeds", ["5"])
    result = dg.materialize(
        [synthetic_dataset, cache_simulation, dataset_pages], partition_key="5", instance=instance,
        resources={"warehouse": WarehouseResource()},
        run_config={"ops": {"synthetic_dataset": {"config": {"num_sessions": 80}},
                            "cache_simulation": {"config": {"capacities": [500, 2000], "policies": ["lru"],
                                                            "concurrency": 4}}}},
        selection=[dg.AssetKey("synthetic_dataset"), dg.AssetKey("cache_simulation"), dg.AssetKey("dataset_pages")])
    assert result.success
    wh = Warehouse()
    table = wh.query("SELECT policy, capacity_blocks, hit_rate, dataset_id, seed FROM cache_simulation "
                     "WHERE layer = 'all' AND tier = 'all' ORDER BY capacity_blocks NULLS LAST")
    assert table["capacity_blocks"].to_list() == [500, 2000, None] and set(table["seed"]) == {5}
    assert table["dataset_id"].n_unique() == 1
    lineage = wh.query("SELECT partition_key FROM lineage WHERE asset_key = 'cache_simulation'")
    assert lineage["partition_key"].to_list() == ["5"]
    meta = result.asset_materializations_for_node("cache_simulation")[0].metadata
    assert "infinite" in meta["hit_rate_curve"].value
    pages = result.asset_materializations_for_node("dataset_pages")[0].metadata
    report = Path(pages["report"].value)
    assert report.is_file() and report.parent == Path(meta["pages"].value).parent
    assert "<svg" in report.read_text() and Path(pages["simulation"].value).is_file()
    paths = wh.query("SELECT output_paths FROM lineage WHERE asset_key = 'dataset_pages'").item()
    assert str(report) in paths  # the pages are recorded in lineage with their content hashes
