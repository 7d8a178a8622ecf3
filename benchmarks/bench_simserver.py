"""The simulated engine and the replayer, side by side with their targets (issue: replay and the simulated engine).

* Throughput: streamed 32-token completions at concurrency 32 against ``agenttrace serve-sim``'s engine (modelled
  time, no waiting), through HTTP on 127.0.0.1. Target ≥ 500 requests/s; vLLM's CPU build with a tiny model does
  322 here (REFERENCE §4), the anchor.
* Lateness: a single-turn trace at 200 requests/s (fixed schedule) replayed against the engine; target p99 ≤ 2 ms
  with no drift.

Run: ``uv run python benchmarks/bench_simserver.py [--requests 2000] [--seconds 10]``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

import httpx
import orjson

from agenttrace_pipeline.replay.client import body, send
from agenttrace_pipeline.replay.options import EndpointSpec, ReplayOptions
from agenttrace_pipeline.replay.runner import run_replay
from agenttrace_pipeline.simserver.config import SimConfig
from agenttrace_pipeline.simserver.serve import running_sim


async def _throughput(url: str, model: str, n: int, concurrency: int) -> tuple[float, int]:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:
        queue = list(range(n))
        failed = 0

        async def worker() -> None:
            nonlocal failed
            while queue:
                i = queue.pop()
                o = await send(client, "/v1/completions", body(model, [f"request {i} " * 20], 32, False), False)
                failed += o.error is not None

        t = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - t, failed


def _trace(path: Path, rate: float, seconds: float) -> int:
    n = int(rate * seconds)
    with open(path, "wb") as fh:
        for i in range(n):
            fh.write(orjson.dumps({"timestamp": round(i * 1000 / rate, 3), "input_length": 256, "output_length": 8,
                                   "hash_ids": [i]}) + b"\n")
    return n


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--seconds", type=float, default=10.0, help="length of the 200 req/s lateness run")
    args = ap.parse_args()
    with running_sim(SimConfig(time_scale=0.0)) as h:
        wall, failed = asyncio.run(_throughput(h.url, h.model, args.requests, 32))
        rps = (args.requests - failed) / wall
        with tempfile.TemporaryDirectory() as tmp:
            trace = Path(tmp) / "rate200.jsonl"
            n = _trace(trace, 200.0, args.seconds)
            res = run_replay(trace, EndpointSpec(h.url, h.model, "sim"), ReplayOptions(mode="fixed", concurrency=256))
    late = res.summary["lateness_ms"]
    print("## simulated engine and replayer\n")
    print("| measure | measured | target | anchor |")
    print("|---|---|---|---|")
    print(f"| streamed 32-token completions, concurrency 32 ({args.requests:,} requests, {failed} failed) | "
          f"{rps:,.0f} req/s | ≥ 500 req/s | vLLM CPU build, tiny model: 322 req/s |")
    print(f"| lateness at 200 req/s, fixed schedule ({n:,} requests) | p50 {late['p50']:.2f} ms, p99 {late['p99']:.2f} ms, "
          f"max {late['max']:.2f} ms, drift {late['drift_ms_per_s']:.3f} ms/s | p99 ≤ 2 ms, drift 0 | |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
