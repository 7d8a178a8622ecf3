"""replay_run through Dagster: the default endpoint is the simulated engine, started for the replay and stopped
afterwards; every request and the run's summary land in the warehouse; the key never does."""

from __future__ import annotations

import socket
from pathlib import Path

import dagster as dg
import pytest

from agenttrace_pipeline.endpoints import EndpointConfigError, load_endpoints
from agenttrace_pipeline.lib.endpoint import InferenceEndpoint
from agenttrace_pipeline.lib.warehouse import WarehouseResource
from agenttrace_pipeline.store.warehouse import Warehouse


def _materialize(endpoint: InferenceEndpoint, key: str = "9"):
    from agenttrace_pipeline.defs.replay.assets import replay_run
    from agenttrace_pipeline.defs.synthesis.assets import synthetic_dataset

    instance = dg.DagsterInstance.get()
    instance.add_dynamic_partitions("seeds", [key])
    return dg.materialize(
        [synthetic_dataset, replay_run], partition_key=key, instance=instance,
        resources={"warehouse": WarehouseResource(), "endpoint": endpoint},
        run_config={"ops": {"synthetic_dataset": {"config": {"num_sessions": 30}},
                            "replay_run": {"config": {"max_requests": 120, "concurrency": 8}}}})


def test_replay_run_against_the_default_simulated_engine(isolated: Path):
    result = _materialize(InferenceEndpoint(api_key="SECRET-KEY-123"))
    assert result.success
    wh = Warehouse()
    reqs = wh.query("SELECT count(*) AS n, count(error) AS errors, min(ttft_ms) AS ttft FROM replay_requests").row(0)
    assert reqs[0] == 120 and reqs[1] == 0 and reqs[2] > 0  # every planned request accounted for
    run = wh.query("SELECT * FROM replay_runs").row(0, named=True)
    assert run["endpoint_kind"] == "sim" and run["completed"] == 120 and run["seed"] == 9
    for k in ("hit_rate_simulator", "hit_rate_server_counters", "hit_rate_usage"):
        assert 0 < run[k] <= 1
    assert abs(run["hit_rate_server_counters"] - run["hit_rate_usage"]) < 0.005
    stored = str(wh.query("SELECT * FROM replay_runs").rows()) + str(wh.lineage().rows())
    assert "SECRET-KEY-123" not in stored
    meta = result.asset_materializations_for_node("replay_run")[0].metadata
    assert "simulator" in meta["hit_rates"].value and meta["endpoint_kind"].value == "sim"


def test_the_simulated_engine_is_stopped_after_the_replay(isolated: Path):
    ep = InferenceEndpoint()
    with ep.open() as spec:
        port = int(spec.url.rsplit(":", 1)[1])
        assert spec.url.startswith("http://127.0.0.1:")
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0  # nothing listens there any more


def test_a_bad_endpoints_file_names_the_field(tmp_path: Path):
    bad = tmp_path / "endpoints.json"
    bad.write_text('{"default": "x", "endpoints": [{"name": "x", "kind": "vllm", "model": "m"}]}')
    with pytest.raises(EndpointConfigError, match=r"endpoints.json: endpoints\.0.*needs a url"):
        load_endpoints(bad)
    bad.write_text('{"default": "x", "endpoints": [{"name": "x", "kind": "sim", "capacity_blocks": "10"}]}')
    with pytest.raises(EndpointConfigError, match=r"capacity_blocks"):
        load_endpoints(bad)
    bad.write_text('{"default": "x", "endpoints": [{"name": "x", "kind": "sim", "capacty_blocks": 10}]}')
    with pytest.raises(EndpointConfigError, match=r"endpoints\.0: unknown field 'capacty_blocks' \(did you mean 'capacity_blocks'\?\)"):
        load_endpoints(bad)
