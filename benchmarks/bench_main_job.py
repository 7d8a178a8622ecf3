"""The main job (`agenttrace run`, seed 42) on the default data, end to end, with each step's time.

Target (issue: lake-first core): ≤ 20 s on the 2-core machine with ../shared/data present. Run it on an
otherwise idle machine; it uses a throwaway warehouse, output folder and Dagster home.

    uv run python benchmarks/bench_main_job.py [--bare]      # --bare: without ../shared/data (samples only)
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_S = 20.0


def step_times(dagster_home: Path) -> list[tuple[str, float]]:
    """(step, seconds) of the latest run in ``dagster_home``, from its STEP_START / STEP_SUCCESS events."""
    os.environ["DAGSTER_HOME"] = str(dagster_home)
    import dagster as dg
    from dagster._core.events import DagsterEventType as T

    inst = dg.DagsterInstance.get()
    run = inst.get_runs(limit=1)[0]
    starts, out = {}, []
    for rec in inst.all_logs(run.run_id):
        ev = rec.dagster_event
        if ev is None or ev.step_key is None:
            continue
        if ev.event_type == T.STEP_START:
            starts[ev.step_key] = rec.timestamp
        elif ev.event_type in (T.STEP_SUCCESS, T.STEP_FAILURE) and ev.step_key in starts:
            out.append((ev.step_key, rec.timestamp - starts[ev.step_key]))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bare", action="store_true", help="run without ../shared/data (bundled samples only)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        env = {**os.environ, "AGENTTRACE_WAREHOUSE": str(t / "wh" / "agenttrace.duckdb"),
               "AGENTTRACE_OUTPUT": str(t / "out"), "DAGSTER_HOME": str(t / "dh")}
        env.pop("AGENTTRACE_LAKE", None)
        if args.bare:
            env["AGENTTRACE_SHARED_DATA"] = str(t / "none")
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "agenttrace_pipeline.cli", "run"], env=env,
                              capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if proc.returncode:
            print(proc.stdout[-3000:], proc.stderr[-3000:], sep="\n")
            print(f"FAILED: agenttrace run exited {proc.returncode}")
            return 1
        steps = step_times(t / "dh")
    print(f"main job ({'bare: samples only' if args.bare else 'with ../shared/data'}), one process, end to end")
    print(f"{'step':40s} {'seconds':>8s}")
    for name, secs in sorted(steps, key=lambda s: -s[1]):
        print(f"{name:40s} {secs:8.2f}")
    in_steps = sum(s for _, s in steps)
    print(f"{'sum of steps':40s} {in_steps:8.2f}")
    print(f"{'outside steps (start-up, imports, run setup)':40s} {wall - in_steps:8.2f}")
    print(f"measured wall {wall:.1f} s | target ≤ {TARGET_S:.0f} s | floor: sum of steps {in_steps:.1f} s "
          f"{'PASS' if wall <= TARGET_S else 'MISS'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
