"""Validator benchmarks (issue: foundation).

1. ``agenttrace validate mooncake-trace`` on the 12,031-row FAST'25 conversation trace: target <= 1 s.
2. Streaming validation of a generated 1,000,000-row multi-turn file: target peak RSS <= 300 MB.

Run: ``uv run python benchmarks/bench_validate.py [--rows 1000000]``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import run_measured  # noqa: E402

from agenttrace_pipeline import settings  # noqa: E402
from agenttrace_pipeline.trace.validator import validate_file  # noqa: E402


def write_multi_turn(path: Path, rows: int, seed: int = 1) -> None:
    """A multi-turn trace shaped like the agentic-code default: 63-block shared L1, ~30-block L2, ~12 new blocks/turn."""
    rng = np.random.default_rng(seed)
    l1 = list(range(63))
    next_id = 63
    n = 0
    with open(path, "wb", buffering=1 << 22) as fh:
        s = 0
        while n < rows:
            turns = int(min(rows - n, rng.integers(5, 40)))
            l2 = int(rng.integers(5_000, 25_000))
            length = 63 * 512 + l2
            k = -(-l2 // 512)
            ids = l1 + list(range(next_id, next_id + k))
            next_id += k
            buf = [orjson.dumps({"session_id": f"s{s}", "input_length": length, "output_length": 900,
                                 "hash_ids": ids, "timestamp": float(s), "group_id": 0})]
            for _ in range(turns - 1):
                new = int(rng.integers(100, 10_000))
                k = -(-new // 512)
                buf.append(orjson.dumps({"session_id": f"s{s}", "input_length": new, "output_length": 900,
                                         "hash_ids": list(range(next_id, next_id + k)), "delay": 2500.0}))
                next_id += k
            fh.write(b"\n".join(buf) + b"\n")
            n += turns
            s += 1


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    args = ap.parse_args()
    exe = shutil.which("agenttrace") or "agenttrace"

    conv = settings.shared_data() / "mooncake" / "conversation_trace.jsonl"
    print("## validator benchmarks\n")
    print("| case | rows | wall | peak RSS | target |")
    print("|---|---|---|---|---|")
    if conv.exists():
        t0 = time.perf_counter()
        rep = validate_file(conv)
        inproc = time.perf_counter() - t0
        m = run_measured([exe, "validate", "mooncake-trace", "--input", str(conv)])
        assert m.returncode == 0, m.stdout
        print(f"| conversation_trace.jsonl, CLI (process start included) | {rep.rows:,} | {m.wall_s:.2f} s | "
              f"{m.peak_rss_mb:.0f} MB | <= 1 s |")
        print(f"| conversation_trace.jsonl, validate_file() in process | {rep.rows:,} | {inproc:.3f} s | | |")
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "big.jsonl"
        t0 = time.perf_counter()
        write_multi_turn(big, args.rows)
        gen = time.perf_counter() - t0
        size_mb = big.stat().st_size / 2**20
        m = run_measured([exe, "validate", "mooncake-trace", "--input", str(big), "--json"])
        report = orjson.loads(m.stdout)
        assert report["valid"], report["violations"][:3]
        print(f"| generated multi-turn ({size_mb:.0f} MB, {report['sessions']:,} sessions, "
              f"{report['distinct_hash_ids']:,} ids; written in {gen:.1f} s) | {report['rows']:,} | {m.wall_s:.1f} s | "
              f"{m.peak_rss_mb:.0f} MB | RSS <= 300 MB |")


if __name__ == "__main__":
    main()
