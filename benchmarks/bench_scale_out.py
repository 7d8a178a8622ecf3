"""8-seed backfill of synthetic_dataset + dataset_quality: two Celery workers (Redis broker, Postgres instance,
the daemon launching one run per seed) against the in-process executor (one run per seed, one after another) on
the same machine. Prints both wall-clock times and their ratio; the stack's start-up is reported apart.

Usage: ``python benchmarks/bench_scale_out.py [--seeds 8] [--sessions 1000] [--workers 2]``. It needs
Debian's redis-server and postgresql (installed with apt-get when run as root)."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "deploy"))
from local_stack import LocalStack, StackUnavailable  # noqa: E402

ASSETS = ["synthetic_dataset", "dataset_quality"]
IN_PROCESS = """
import sys, dagster as dg
from agenttrace_pipeline.defs.synthesis.assets import synthetic_dataset, dataset_quality
from agenttrace_pipeline.lib.warehouse import WarehouseResource
seeds, sessions = sys.argv[1].split(','), int(sys.argv[2])
instance = dg.DagsterInstance.get()
instance.add_dynamic_partitions('seeds', seeds)
for seed in seeds:
    r = dg.materialize([synthetic_dataset, dataset_quality], partition_key=seed, instance=instance,
                       resources={'warehouse': WarehouseResource()},
                       run_config={'ops': {'synthetic_dataset': {'config': {'num_sessions': sessions}}}})
    assert r.success, seed
"""


def _env(work: Path) -> dict[str, str]:
    (work / "dh").mkdir(parents=True, exist_ok=True)
    (work / "dh" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    return {"AGENTTRACE_WAREHOUSE": str(work / "wh" / "agenttrace.duckdb"), "AGENTTRACE_OUTPUT": str(work / "out"),
            "AGENTTRACE_OFFLINE": "1", "AGENTTRACE_CACHE": str(work / "cache"), "AGENTTRACE_PROFILES": str(work / "p"),
            "DAGSTER_HOME": str(work / "dh")}


def in_process(seeds: list[str], sessions: int) -> float:
    """Seconds for the seeds, one in-process run each, in one fresh Python process (its start-up included)."""
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", IN_PROCESS, ",".join(seeds), str(sessions)], check=True,
                       env=os.environ | _env(Path(tmp)), capture_output=True)
        return time.perf_counter() - t0


def on_celery(seeds: list[str], sessions: int, workers: int) -> tuple[float, float]:
    """(stack start-up seconds, backfill seconds from launch to COMPLETED_SUCCESS)."""
    if sessions != 1000:
        raise SystemExit("the daemon's runs use the asset's default config: --sessions must stay 1000 for Celery")
    with tempfile.TemporaryDirectory() as tmp:
        env = _env(Path(tmp))
        env.pop("DAGSTER_HOME")  # the stack's own, on Postgres
        t0 = time.perf_counter()
        with LocalStack(Path(tmp) / "stack", env=env, workers=workers) as stack:
            startup = time.perf_counter() - t0
            stack.add_seeds(seeds)
            bid, status, seconds = stack.backfill(seeds, ASSETS)
            if status != "COMPLETED_SUCCESS":
                raise SystemExit(f"backfill {bid} ended {status}; logs in {stack.root}")
        return startup, seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--sessions", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    seeds = [str(1000 + i) for i in range(args.seeds)]
    local = in_process(seeds, args.sessions)
    print(f"in-process executor : {len(seeds)} seeds in {local:6.1f} s (one run per seed, one after another)")
    try:
        startup, celery = on_celery(seeds, args.sessions, args.workers)
    except StackUnavailable as exc:
        print(f"celery: not measured ({exc})")
        return
    print(f"celery, {args.workers} workers   : {len(seeds)} seeds in {celery:6.1f} s (backfill launch to success; "
          f"stack start-up {startup:.1f} s apart)")
    print(f"wall-clock ratio celery / in-process: {celery / local:.2f} on {os.cpu_count()} CPU cores")


if __name__ == "__main__":
    main()
