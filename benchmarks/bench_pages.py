"""Pages benchmark: generate a dataset (default 20,000 sessions) and time `write_pages` on it.

Usage: .venv/bin/python benchmarks/bench_pages.py [--sessions N] [--run-dir DIR]
Prints the measured seconds and page sizes beside the targets (≤ 10 s together, each page ≤ 5 MB).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

TARGET_S = 10.0
TARGET_BYTES = 5_000_000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sessions", type=int, default=20_000)
    ap.add_argument("--run-dir", type=Path, help="an existing run directory (skips generation)")
    a = ap.parse_args()
    from agenttrace_pipeline.reports import write_pages

    run_dir = a.run_dir
    if run_dir is None:
        out = Path(tempfile.mkdtemp(prefix="bench_pages_"))
        subprocess.run([sys.executable, "-m", "agenttrace_pipeline.cli", "synthesize", "agentic-code", "--num-sessions",
                        str(a.sessions), "--output", str(out), "--yes"], check=True, capture_output=True)
        (run_dir,) = [p for p in out.iterdir() if p.is_dir()]
    write_pages(run_dir)  # warm numba's compile cache so the timing is the steady state
    res = write_pages(run_dir)
    print(f"pages for {run_dir.name}: {res.seconds:.2f} s (target ≤ {TARGET_S:.0f} s)")
    for p in res.paths:
        size = p.stat().st_size
        print(f"  {p.name:22s} {size / 1e6:6.2f} MB (target ≤ {TARGET_BYTES / 1e6:.0f} MB){'' if size <= TARGET_BYTES else '  OVER'}")


if __name__ == "__main__":
    main()
