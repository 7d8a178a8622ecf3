"""The lake on an S3-compatible store (a local moto server): an asset's writes land as objects, DuckDB's views
read them (through the lake's fsspec filesystem, see the README), lineage is recorded there, another process's
writes are seen, and an uncommitted write leaves no object behind."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from agenttrace_pipeline.lib.warehouse import WarehouseResource
from agenttrace_pipeline.store.tables import TABLES
from agenttrace_pipeline.store.warehouse import Warehouse

BUCKET = "agenttrace-lake"


@pytest.fixture
def s3_lake(isolated: Path, monkeypatch: pytest.MonkeyPatch):
    """A moto S3 server on 127.0.0.1 with an empty bucket; AGENTTRACE_LAKE points into it. Yields a boto3 client."""
    boto3 = pytest.importorskip("boto3")
    moto_server = pytest.importorskip("moto.server")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
                        "AGENTTRACE_LAKE": f"s3://{BUCKET}/lake"}.items():
        monkeypatch.setenv(name, value)
    client = boto3.client("s3")
    client.create_bucket(Bucket=BUCKET)
    import fsspec

    fsspec.filesystem("s3").clear_instance_cache()  # a cached filesystem from another test names another server
    yield client
    server.stop()


def _keys(client, prefix: str = "lake/") -> list[str]:
    return sorted(o["Key"] for o in client.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", []))


def test_an_asset_writes_to_s3_and_duckdb_reads_it_with_lineage(s3_lake, isolated: Path):
    from agenttrace_pipeline.defs.synthesis.assets import synthetic_dataset

    instance = dg.DagsterInstance.get()
    instance.add_dynamic_partitions("seeds", ["5"])
    result = dg.materialize([synthetic_dataset], partition_key="5", instance=instance,
                            resources={"warehouse": WarehouseResource()},
                            run_config={"ops": {"synthetic_dataset": {"config": {"num_sessions": 40}}}})
    assert result.success
    keys = _keys(s3_lake)
    for table in ("synthetic_turns", "synthetic_sessions", "synthetic_datasets"):
        assert f"lake/{table}/seed=5/data.parquet" in keys
    assert f"lake/lineage/synthetic_dataset/5/{result.run_id}.parquet" in keys
    assert not [k for k in keys if k.endswith(".tmp")]
    assert not (isolated / "wh" / "lake").exists()  # nothing went to the local default

    wh = Warehouse()
    assert wh.store.url == f"s3://{BUCKET}/lake"
    turns, runs = wh.query("SELECT count(*), count(DISTINCT run_id) FROM synthetic_turns WHERE seed = 5").row(0)
    rec = wh.lineage().filter(asset_key="synthetic_dataset").row(0, named=True)
    assert rec["run_id"] == result.run_id and rec["partition_key"] == "5"
    assert turns == rec["row_count"] > 0 and runs == 1
    joined = wh.query("SELECT d.dataset_id, l.run_id FROM synthetic_datasets d JOIN lineage l "
                      "ON l.asset_key = 'synthetic_dataset' AND l.partition_key = CAST(d.seed AS VARCHAR)")
    assert joined.height == 1 and joined["run_id"][0] == result.run_id


def test_another_process_writes_are_seen_and_uncommitted_writes_leave_nothing(s3_lake, isolated: Path):
    wh = Warehouse()
    empty = TABLES["dataset_quality"].empty()
    wh.write_partition("dataset_quality", "seed", "1", empty)
    writer = ("from agenttrace_pipeline.store.tables import TABLES; from agenttrace_pipeline.store.warehouse import "
              "Warehouse; Warehouse().write_partition('dataset_quality', 'seed', '2', TABLES['dataset_quality'].empty())")
    subprocess.run([sys.executable, "-c", writer], check=True, timeout=120)
    assert wh.partition_values("dataset_quality") == ["1", "2"]  # the other writer's object, not a stale listing
    assert wh.query("SELECT count(*) FROM dataset_quality").item() == 0

    deferred = Warehouse(deferred=True)
    deferred.write_partition("dataset_quality", "seed", "3", empty)
    assert [k for k in _keys(s3_lake) if k.endswith(".tmp")]  # staged under a hidden name …
    assert deferred.partition_values("dataset_quality") == ["1", "2"]  # … which readers never see
    deferred.discard()  # the step failed before its lineage
    assert not [k for k in _keys(s3_lake) if k.endswith(".tmp") or "seed=3" in k]
