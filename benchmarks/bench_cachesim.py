"""KV-cache simulation benchmarks (issue 11), side by side in one run.

1. First-call cost: import + first ``simulate()`` in a fresh process, numba cache cold and warm.
2. LRU kernel on the FAST'25 conversation trace (288,500 block lookups, 6,000 blocks): lookups/s beside a
   naive Python OrderedDict block-LRU, and the ratio. Target >= 10 M lookups/s.
3. The whole LRU curve (every capacity) of that trace in one pass. Target <= 0.5 s.
4. A 20,000-session default dataset: 8 capacities x 3 policies (LRU, FIFO, S3-FIFO), closed loop with 64
   sessions in flight (its turn-0 timestamps are all 0, so an open loop would start all 20,000 at once and
   file order would never interleave sessions). Target <= 15 s. The machine may be shared: the sweep's CPU
   seconds and the load average are printed beside its wall time.

Kernel rows time the default (chunked, :mod:`agenttrace_pipeline.cachesim.segments`) kernel beside the
block-at-a-time one (``kernel="block"``), which gives the same results.

Run: ``uv run python benchmarks/bench_cachesim.py [--dataset DATASET.jsonl]``; without ``--dataset`` the
dataset is generated into a temporary folder (``agenttrace synthesize agentic-code --num-sessions 20000``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import OrderedDict
from pathlib import Path

import numpy as np

from agenttrace_pipeline import settings
from agenttrace_pipeline.cachesim.simulate import prepare, run_one, sweep
from agenttrace_pipeline.cachesim.stack_distance import lru_curve

CAPACITIES = [1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000]
POLICIES = ["lru", "fifo", "s3fifo"]
FIRST_CALL = (
    "import time; t0 = time.perf_counter();"
    "from agenttrace_pipeline.cachesim.simulate import simulate;"
    "from agenttrace_pipeline.cachesim.workload import Workload;"
    "w = Workload.from_rows([{'input_length': 600, 'output_length': 4, 'hash_ids': [1, 2]}] * 3);"
    "simulate(w, capacity=[1, None], load='open'); simulate(w, semantics='vllm', capacity=4);"
    "print(time.perf_counter() - t0)"
)


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def naive_lru(prompts: list[tuple[list[int], int]], capacity: int) -> int:
    """The OrderedDict block-LRU this project used before the kernel (hit tokens)."""
    lru: OrderedDict[int, None] = OrderedDict()
    hits = 0
    for ids, length in prompts:
        run = 0
        for h in ids:
            if h not in lru:
                break
            run += 1
        hits += length if run == len(ids) else min(run * 512, length)
        for h in ids:
            if h in lru:
                lru.move_to_end(h)
            else:
                lru[h] = None
        while len(lru) > capacity:
            lru.popitem(last=False)
    return hits


def first_call(cache_dir: str | None) -> float:
    env = {**os.environ, **({"NUMBA_CACHE_DIR": cache_dir} if cache_dir else {})}
    out = subprocess.run([sys.executable, "-c", FIRST_CALL], capture_output=True, text=True, env=env, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def conversation_rows(path: Path) -> list[str]:
    prep = prepare(path)
    s = prep.streams
    lookups = int(s.n_prompt.sum())
    prompts = [(prep.workload.ids[s.base[r]:s.base[r] + s.n_prompt[r]].tolist(), int(s.prompt_tokens[r]))
               for r in range(prep.workload.n_requests)]
    run = run_one(prep, policy="lru", capacity=6000)
    assert naive_lru(prompts, 6000) == run.hit_tokens, "kernel and naive LRU disagree"
    k = best(lambda: run_one(prep, policy="lru", capacity=6000), 5)
    kb = best(lambda: run_one(prep, policy="lru", capacity=6000, kernel="block"), 5)
    n = best(lambda: naive_lru(prompts, 6000), 3)
    c = best(lambda: lru_curve(s), 3)
    return [
        f"| LRU kernel (chunked), conversation trace @ 6,000 blocks ({lookups:,} lookups, whole run_one) | "
        f"{k * 1e3:.1f} ms = {lookups / k / 1e6:.1f} M lookups/s | >= 10 M/s |",
        f"| the block-at-a-time kernel, same run | {kb * 1e3:.1f} ms = {lookups / kb / 1e6:.1f} M lookups/s | |",
        f"| naive OrderedDict LRU, same run | {n * 1e3:.1f} ms = {lookups / n / 1e6:.1f} M lookups/s; "
        f"kernel is {n / k:.1f}x faster | (3-5 M/s) |",
        f"| whole LRU curve, conversation trace, one pass | {c:.3f} s (hit rate @ 6,000: "
        f"{100 * lru_curve(s).hit_rate(6000):.2f} %) | <= 0.5 s |",
    ]


def dataset_rows(path: Path) -> list[str]:
    t0 = time.perf_counter()
    prep = prepare(path)
    t_prep = time.perf_counter() - t0
    lookups = int(prep.streams.n_prompt.sum())
    t0 = time.perf_counter()
    curve = lru_curve(prep.streams, np.argsort(prep.reqf[0], kind="stable"))
    t_curve = time.perf_counter() - t0
    load = dict(load="closed", concurrency=64)
    one = best(lambda: run_one(prep, policy="lru", capacity=10_000, **load), 1)
    one_block = best(lambda: run_one(prep, policy="lru", capacity=10_000, kernel="block", **load), 1)
    configs = [dict(policy=p, capacity=c, **load) for p in POLICIES for c in CAPACITIES]
    t0, c0 = time.perf_counter(), time.process_time()
    runs = sweep(prep, configs)
    t_sweep, cpu = time.perf_counter() - t0, time.process_time() - c0
    rate = {(r.policy, r.capacity): 100 * r.hit_rate for r in runs}
    return [
        f"| 20k-session dataset: read + lay out ({prep.workload.n_requests:,} requests, {lookups:,} lookups) | "
        f"{t_prep:.2f} s | |",
        f"| its whole LRU curve in one pass (nominal order) | {t_curve:.2f} s (@ 10,000 blocks: "
        f"{100 * curve.hit_rate(10_000):.2f} %) | |",
        f"| one LRU run on it @ 10,000 blocks, closed loop (64) | {one:.2f} s = {lookups / one / 1e6:.1f} M "
        f"lookups/s (block-at-a-time kernel: {one_block:.2f} s) | |",
        f"| 8 capacities x 3 policies ({', '.join(POLICIES)}), closed loop, {os.cpu_count()} threads | {t_sweep:.2f} s "
        f"wall, {cpu:.2f} s CPU (+ {t_prep:.2f} s read; load average {os.getloadavg()[0]:.1f}) | <= 15 s |",
        *[f"| {p} hit rate @ 1k / 10k / 100k blocks | {rate[p, 1000]:.2f} / {rate[p, 10_000]:.2f} / "
          f"{rate[p, 100_000]:.2f} % | |" for p in POLICIES],
    ]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", type=Path, help="a 20,000-session dataset.jsonl (generated when absent)")
    args = ap.parse_args()
    print("## KV-cache simulation benchmarks\n")
    print("| case | measured | target |")
    print("|---|---|---|")
    with tempfile.TemporaryDirectory() as cold:
        print(f"| first call (import + 3 small simulations), numba cache cold | {first_call(cold):.1f} s | |")
    print(f"| first call, numba cache warm | {first_call(None):.2f} s | |")
    conv = settings.shared_data() / "mooncake" / "conversation_trace.jsonl"
    if conv.exists():
        print("\n".join(conversation_rows(conv)))
    else:
        print(f"| conversation trace | skipped: {conv} not present | |")
    with tempfile.TemporaryDirectory() as tmp:
        path = args.dataset
        if path is None:
            exe = shutil.which("agenttrace") or "agenttrace"
            subprocess.run([exe, "synthesize", "agentic-code", "--num-sessions", "20000", "--output", tmp],
                           check=True, capture_output=True)
            path = next(Path(tmp).glob("*/dataset.jsonl"))
        print("\n".join(dataset_rows(path)))


if __name__ == "__main__":
    main()
