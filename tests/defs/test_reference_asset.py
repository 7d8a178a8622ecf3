"""mooncake_reference_traces materialised through Dagster, into a temporary warehouse."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest

from agenttrace_pipeline.defs.references.assets import mooncake_reference_traces, reference_rows_match_trace_schema
from agenttrace_pipeline.lib.warehouse import WarehouseResource
from agenttrace_pipeline.store.warehouse import Warehouse
from tests.conftest import FIXTURES


def _materialize(isolated: Path, **config):
    return dg.materialize(
        [mooncake_reference_traces, reference_rows_match_trace_schema],
        resources={"warehouse": WarehouseResource()},
        run_config={"ops": {"mooncake_reference_traces": {"config": config}}} if config else None,
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )


def _config_with(tmp: Path, traces: list[dict]) -> str:
    import json

    path = tmp / "refs.json"
    path.write_text(json.dumps({"block_size": 512, "lru_capacities": [6000], "traces": traces}))
    return str(path)


def test_fast25_hit_rates_reproduced_and_no_duplicates_after_two_runs(isolated: Path, shared_data: Path):
    for _ in range(2):
        result = _materialize(isolated)
        assert result.success
    meta = result.asset_materializations_for_node("mooncake_reference_traces")[0].metadata
    assert meta["hit_rate/conversation"].value == pytest.approx(0.374, abs=0.005)
    assert meta["hit_rate/synthetic"].value == pytest.approx(0.651, abs=0.005)
    wh = Warehouse()
    counts = dict(wh.query("SELECT trace, count(*) FROM mooncake_reference_requests GROUP BY 1").rows())
    assert counts == {"conversation": 12031, "synthetic": 3993}
    lineage = wh.query("SELECT asset_key, row_count, input_fingerprints, run_id FROM lineage")
    assert lineage.height == 2 and set(lineage["row_count"]) == {16024}
    assert lineage["run_id"].n_unique() == 2 and "trace:conversation" in lineage["input_fingerprints"][0]
    stats = wh.query("SELECT trace, capacity_blocks, round(hit_rate, 3) FROM reference_cache_stats ORDER BY 1, 2 NULLS FIRST")
    assert stats.rows()[0] == ("conversation", None, 0.374)


def test_missing_shared_data_falls_back_to_the_bundled_sample(isolated: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AGENTTRACE_SHARED_DATA", str(isolated / "no-such-folder"))
    result = _materialize(isolated)
    assert result.success
    meta = result.asset_materializations_for_node("mooncake_reference_traces")[0].metadata
    assert meta["traces"].value == ["bundled_sample"] and meta["skipped"].value == ["conversation", "synthetic"]


def test_a_broken_trace_fails_the_run_and_leaves_the_warehouse_as_it_was(isolated: Path):
    good = isolated / "good.jsonl"
    shutil.copy(FIXTURES.parent.parent / "assets_config" / "samples" / "mooncake_sample.jsonl", good)
    ok_cfg = _config_with(isolated, [{"name": "good", "location": str(good)}])
    assert _materialize(isolated, config_file=ok_cfg).success
    lake = Warehouse().lake
    before = {p: p.read_bytes() for p in lake.rglob("*.parquet")}

    bad = FIXTURES / "bad_traces" / "id_reused_at_two_sizes.jsonl"
    result = _materialize(isolated, config_file=ok_cfg, extra_locations=[str(bad)])
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert f"{bad}:2: hash_ids: hash id 1" in str(failure.event_specific_data.error)
    assert {p: p.read_bytes() for p in lake.rglob("*.parquet")} == before
    assert Warehouse().query("SELECT count(*) FROM lineage").item() == 1


def test_a_trace_given_by_url_is_downloaded_and_ingested(isolated: Path, tmp_path: Path):
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    serve_dir = tmp_path / "www"
    serve_dir.mkdir()
    shutil.copy(FIXTURES.parent.parent / "assets_config" / "samples" / "mooncake_sample.jsonl", serve_dir / "remote.jsonl")
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(serve_dir))
    handler.log_message = lambda *a: None
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/remote.jsonl"
        result = _materialize(isolated, config_file=_config_with(isolated, []), extra_locations=[url])
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert result.success
    assert Warehouse().query("SELECT count(*) FROM mooncake_reference_requests WHERE trace = 'remote'").item() == 194
    assert list((isolated / "cache").rglob("remote.jsonl"))  # kept in the download cache
