"""Parallel writers and readers on one lake: two `agenttrace run` processes at once, queries during them, and
two seeds materialised at once by Dagster's multiprocess executor. Every table must end complete and every
lineage row must name a run that succeeded."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agenttrace_pipeline.store.warehouse import Warehouse

pytestmark = pytest.mark.slow


def _env(isolated: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["AGENTTRACE_SHARED_DATA"] = str(isolated / "no-shared-data")  # the bundled samples: quick
    return env


def _succeeded_runs() -> set[str]:
    import dagster as dg

    instance = dg.DagsterInstance.get()
    return {r.run_id for r in instance.get_runs(dg.RunsFilter(statuses=[dg.DagsterRunStatus.SUCCESS]))}


def _assert_consistent(seeds: list[str]) -> None:
    wh = Warehouse()
    assert sorted(wh.query("SELECT CAST(seed AS VARCHAR) FROM synthetic_datasets").to_series().to_list()) == sorted(seeds)
    for table in ("synthetic_turns", "synthetic_sessions"):
        per_seed = wh.query(f"SELECT CAST(seed AS VARCHAR), count(DISTINCT dataset_id) FROM {table} GROUP BY 1").rows()
        assert sorted(per_seed) == sorted((s, 1) for s in seeds)
    runs = set(wh.query("SELECT DISTINCT run_id FROM lineage").to_series().to_list())
    assert runs and runs <= _succeeded_runs()


def test_two_runs_at_once_and_queries_during_them(isolated: Path):
    cmd = [sys.executable, "-m", "agenttrace_pipeline.cli", "run", "--num-sessions", "200", "--seed"]
    procs = [subprocess.Popen([*cmd, s], env=_env(isolated), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for s in ("11", "12")]
    queries = 0
    while any(p.poll() is None for p in procs):
        q = subprocess.run([sys.executable, "-m", "agenttrace_pipeline.cli", "query",
                            "SELECT count(*) AS n FROM lineage", "--format", "csv"],
                           env=_env(isolated), capture_output=True, text=True, timeout=60)
        assert q.returncode == 0, q.stderr  # a reader never waits for or fails on a writer
        queries += 1
        time.sleep(0.5)
    outputs = [p.communicate()[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], "\n".join(outputs)
    assert queries >= 2
    _assert_consistent(["11", "12"])


def test_two_seeds_in_parallel_with_the_multiprocess_executor(isolated: Path):
    script = (
        "import sys, dagster as dg\n"
        "from agenttrace_pipeline.defs.jobs import parallel_regeneration_job\n"
        "inst = dg.DagsterInstance.get()\n"
        "job = dg.reconstructable(parallel_regeneration_job)\n"
        "cfg = {'ops': {'synthetic_dataset': {'config': {'num_sessions': 200}}}}\n"
        "r = dg.execute_job(job, inst, run_config=cfg, tags={'dagster/partition': sys.argv[1]})\n"
        "from dagster._core.events import DagsterEventType as T\n"
        "workers = inst.all_logs(r.run_id, of_type=T.STEP_WORKER_STARTED)\n"
        "print('step processes:', len(workers))\n"
        "sys.exit(0 if r.success else 1)\n"
    )
    import dagster as dg

    # the instance's storage is created once, before two processes use it
    dg.DagsterInstance.get().add_dynamic_partitions("seeds", ["21", "22"])
    procs = [subprocess.Popen([sys.executable, "-c", script, s], env=_env(isolated), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True) for s in ("21", "22")]
    outputs = [p.communicate(timeout=600)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], "\n".join(o[-3000:] for o in outputs)
    assert all("step processes: 2" in o for o in outputs)  # each step ran in its own process
    _assert_consistent(["21", "22"])
