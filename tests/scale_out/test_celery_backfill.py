"""A real distributed engine: Redis, Postgres, two Celery workers, the Dagster webserver and daemon on
127.0.0.1, all in one process group. A multi-run backfill of 8 seeds launched through GraphQL fans its steps out
to both workers; the warehouse then holds each seed once, and its lineage names the run that wrote it."""

from __future__ import annotations

import sys
from pathlib import Path

import dagster as dg
import pytest

from agenttrace_pipeline.store.warehouse import Warehouse

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
sys.path.insert(0, str(DEPLOY))
from local_stack import LocalStack, StackUnavailable, group_alive  # noqa: E402

pytestmark = [pytest.mark.scale_out, pytest.mark.slow]
SEEDS = [str(s) for s in range(101, 109)]
ASSETS = ["synthetic_dataset", "dataset_quality"]


@pytest.fixture
def stack(isolated: Path):
    stack = LocalStack(isolated / "stack", env={}, workers=2)
    try:
        stack.start()
    except StackUnavailable as exc:
        stack.stop()
        pytest.skip(f"Redis/Postgres unavailable: {exc}")
    except BaseException:
        stack.stop()
        raise
    pgid = stack.leader.pid if stack.leader else None
    yield stack
    stack.stop()
    assert pgid is not None and not group_alive(pgid), "a process of the stack outlived stop()"


def _steps_by_worker(instance: dg.DagsterInstance, run_id: str) -> dict[str, str]:
    """step key → the Celery worker that executed it, from the run's engine events."""
    out = {}
    for rec in instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
        event = rec.dagster_event
        meta = event.engine_event_data.metadata if event and event.engine_event_data else {}
        if "Celery worker" in meta:
            out[event.step_key] = str(meta["Celery worker"].value)
    return out


def _seed_of(run: dg.DagsterRun) -> str:
    """The one seed of a backfill run (asset backfills tag a range; multi_run(1) makes it one seed long)."""
    start, end = run.tags["dagster/asset_partition_range_start"], run.tags["dagster/asset_partition_range_end"]
    assert start == end, f"run {run.run_id} covers seeds {start}…{end}"
    return start


def test_a_multi_run_backfill_fans_out_to_both_celery_workers(stack: LocalStack, monkeypatch: pytest.MonkeyPatch):
    stack.add_seeds(SEEDS)
    backfill_id, status, seconds = stack.backfill(SEEDS, ASSETS, timeout_s=900)
    assert status == "COMPLETED_SUCCESS", f"backfill {backfill_id}: {status} after {seconds:.0f} s"

    for name in ("DAGSTER_HOME", "AGENTTRACE_DAGSTER_PG_URL"):
        monkeypatch.setenv(name, stack.env[name])
    with dg.DagsterInstance.get() as instance:
        runs = instance.get_runs(filters=dg.RunsFilter(tags={"dagster/backfill": backfill_id}))
        run_of_seed = {_seed_of(r): r.run_id for r in runs}
        assert sorted(run_of_seed) == sorted(SEEDS) and len(runs) == len(SEEDS)  # multi_run: one seed per run
        assert all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)
        workers = {rid: _steps_by_worker(instance, rid) for rid in run_of_seed.values()}
    steps = [w for by_step in workers.values() for w in by_step.values()]
    assert len(steps) == len(SEEDS) * len(ASSETS)  # every step went through Celery
    assert {w.split("@")[0] for w in steps} == {"w1", "w2"}, f"steps ran on {sorted(set(steps))}"

    wh = Warehouse()
    got = wh.query("SELECT CAST(seed AS VARCHAR) AS seed, count(*) AS n, min(run_id) AS run_id FROM synthetic_datasets "
                   "GROUP BY seed ORDER BY seed")
    assert got["seed"].to_list() == sorted(SEEDS) and set(got["n"]) == {1}
    assert dict(zip(got["seed"], got["run_id"], strict=True)) == run_of_seed
    quality_runs = wh.query("SELECT DISTINCT CAST(seed AS VARCHAR) AS seed, run_id FROM dataset_quality").rows()
    assert dict(quality_runs) == run_of_seed

    lineage = wh.lineage()
    for asset in ASSETS:
        rec = lineage.filter(asset_key=asset)
        assert sorted(rec["partition_key"]) == sorted(SEEDS)  # each seed once
        assert dict(zip(rec["partition_key"], rec["run_id"], strict=True)) == run_of_seed  # naming its run
