"""``simulate(...)``: the one entry point of the KV-cache simulation.

>>> from agenttrace_pipeline.cachesim.workload import Workload
>>> w = Workload.from_rows([{"input_length": 1024, "output_length": 8, "hash_ids": [1, 2]},
...                         {"input_length": 1024, "output_length": 8, "hash_ids": [1, 2]}])
>>> rep = simulate(w, policy="lru", capacity=[1, 2])
>>> [round(r.hit_rate, 3) for r in rep.runs], rep.theoretical.hit_rate
([0.0, 0.5], 0.5)
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from agenttrace_pipeline.cachesim import eventloop as ev
from agenttrace_pipeline.cachesim import kernel as kn
from agenttrace_pipeline.cachesim.blocks import SEMANTICS, BlockStreams, build_blocks
from agenttrace_pipeline.cachesim.cost_model import EngineCost, load_engine
from agenttrace_pipeline.cachesim.prefill import new_queues
from agenttrace_pipeline.cachesim.report import RunResult, SimReport, summarise
from agenttrace_pipeline.cachesim.schedule import new_heap, run_events, seed_events
from agenttrace_pipeline.cachesim.segments import CHUNK_POLICIES, ChunkLayout, chunk_layout, chunk_state
from agenttrace_pipeline.cachesim.workload import Workload

Progress = Callable[[int, int], None]
CHUNK = 20_000  # requests (file mode) or events (timed) between progress calls


@dataclass(frozen=True)
class Prepared:
    """A workload turned into kernel inputs once, reused by every run of a sweep."""

    workload: Workload
    streams: BlockStreams
    req: np.ndarray
    reqf: np.ndarray
    sess_order: np.ndarray
    layout: ChunkLayout | None = None  # simple semantics: chunks for the chunked kernel


def prepare(data: Workload | str | Path, semantics: str = "simple", engine_block: int | None = None) -> Prepared:
    """Read (if a path) and lay out ``data`` for the kernel under ``semantics``."""
    w = data if isinstance(data, Workload) else Workload.from_file(data)
    s = build_blocks(w, semantics, engine_block)
    n = w.n_requests
    req = np.zeros((ev.N_Q, n), np.int64)
    req[ev.Q_BASE], req[ev.Q_NPROMPT], req[ev.Q_NQUERY], req[ev.Q_NTOTAL] = s.base, s.n_prompt, s.n_query, s.n_total
    req[ev.Q_SESS], req[ev.Q_PTOK] = w.session, s.prompt_tokens
    req[ev.Q_OUT], req[ev.Q_TAIL] = w.output_len, s.tail_layer
    if s.semantics == "vllm":  # simple prompts are whole ids; vllm prompts end in a partial block
        req[ev.Q_TAILTOK] = s.prompt_tokens - s.n_prompt * s.block_tokens
        # blocks a running request holds beyond its named full prompt blocks: the partial last one, then at the
        # end every block up to prompt + reply - 1 tokens
        bt = s.block_tokens
        req[ev.Q_UNNAMED0] = -(-s.prompt_tokens // bt) - s.n_prompt
        req[ev.Q_UNNAMED1] = -(-(s.prompt_tokens + w.output_len - 1) // bt) - s.n_prompt
    nxt = np.arange(1, n + 1, dtype=np.int64)
    last = np.ones(n, bool)  # the last request of its session
    if w.cumulative and n:
        last = np.r_[w.session[1:] != w.session[:-1], True]
    nxt[last] = -1
    req[ev.Q_NEXT] = nxt
    reqf = np.zeros((2, n))
    reqf[ev.F_DELAY] = w.delay
    t0 = np.nan_to_num(w.timestamp[w.sess_first[:-1]] if w.cumulative else w.timestamp, nan=0.0)
    start = w.sess_first[w.session] if w.cumulative else np.arange(n)
    csum = np.cumsum(w.delay)
    reqf[ev.F_TIME] = (t0[w.session] if w.cumulative else t0) + csum - csum[start]
    order = np.lexsort((np.arange(w.n_sessions), t0 if w.cumulative else t0[w.sess_first[:-1]]))
    layout = chunk_layout(s) if s.semantics == "simple" else None
    return Prepared(w, s, req, reqf, order.astype(np.int64), layout)


def _params(prep: Prepared, policy: str, capacity: int | None, host_capacity: int, ttl_s: float | None,
            residency: bool = True) -> np.ndarray:
    if policy not in kn.POLICIES:
        raise ValueError(f"policy must be one of {kn.POLICIES}, got {policy!r}")
    pol = kn.POLICIES.index(policy)
    if pol == kn.TTL and not ttl_s:
        raise ValueError("policy 'ttl' needs ttl_s > 0 (seconds a block may stay unused)")
    if capacity is not None and capacity < 1:
        raise ValueError(f"capacity must be >= 1 block (or None for infinite), got {capacity}")
    cap = np.inf if capacity is None or pol == kn.INFINITE else float(capacity)
    cp = np.zeros(kn.N_CP)
    small = max(1.0, np.floor(0.1 * cap)) if np.isfinite(cap) else np.inf
    cp[kn.P_POLICY], cp[kn.P_CAP], cp[kn.P_HOST] = pol, cap, float(host_capacity)
    cp[kn.P_TTL], cp[kn.P_SMALL], cp[kn.P_GHOST] = (ttl_s or 0.0) * 1e3, small, cap - small
    cp[kn.P_NBLK], cp[kn.P_TRACK] = prep.streams.n_blocks, residency
    return cp


def run_one(prep: Prepared, *, policy: str = "lru", capacity: int | None = None, host_capacity: int = 0,
            ttl_s: float | None = None, replicas: int = 1, routing: str = "round-robin", load_cap: float = 1.25,
            load: str = "file", concurrency: int | None = None, engine: EngineCost | str | None = None,
            seed: int = 0, residency: bool = True, running_blocks: bool = True, progress: Progress | None = None,
            kernel: str = "auto") -> RunResult:
    """One simulation of ``prep`` at one capacity; see :func:`simulate` for the arguments. ``kernel``:
    "auto" walks chunks (:mod:`.segments`) where that kernel applies (simple semantics, one replica, no host
    tier, LRU/FIFO/S3-FIFO/infinite) and blocks elsewhere; "block" forces the block kernel (same results)."""
    t0 = time.perf_counter()
    if load not in ev.LOAD_MODES:
        raise ValueError(f"load must be one of {ev.LOAD_MODES}, got {load!r}")
    if routing not in ev.ROUTINGS:
        raise ValueError(f"routing must be one of {ev.ROUTINGS}, got {routing!r}")
    if replicas < 1:
        raise ValueError(f"replicas must be >= 1, got {replicas}")
    if load == "closed" and not concurrency:
        raise ValueError("load 'closed' needs concurrency >= 1 (sessions in flight)")
    eng = load_engine(engine)
    cp = _params(prep, policy, capacity, host_capacity, ttl_s, residency)
    if kernel not in ("auto", "block"):
        raise ValueError(f"kernel must be 'auto' or 'block', got {kernel!r}")
    s3 = int(cp[kn.P_POLICY]) == kn.S3FIFO
    chunked = (kernel == "auto" and prep.layout is not None and replicas == 1 and host_capacity <= 0
               and policy in CHUNK_POLICIES)
    st = kn.new_state(1 if chunked else prep.streams.n_blocks, replicas, s3 and not chunked)
    cs = chunk_state(prep.layout if chunked else None, cp[kn.P_CAP], s3)
    lp = np.array([ev.LOAD_MODES.index(load), replicas, ev.ROUTINGS.index(routing), concurrency or 0, load_cap,
                   prep.streams.semantics == "vllm", prep.streams.n_blocks, seed, chunked,
                   running_blocks and prep.streams.semantics == "vllm"], np.float64)
    n = prep.workload.n_requests
    rep = np.zeros((replicas, ev.N_RP))
    sess_rep = np.full(prep.workload.n_sessions, -1, np.int64)
    out = np.zeros((ev.N_OUT, n))
    lay = np.zeros((3, 4))
    args = (prep.req, prep.reqf, prep.streams.blocks, prep.streams.tokens, prep.streams.layer, (*st, cs), cp,
            eng.params(), lp, rep, sess_rep)
    _drive(prep, load, args, out, lay, progress)
    return summarise(prep, out, lay, rep, st, cp, eng, dict(
        policy=policy, capacity=capacity, host_capacity=host_capacity, ttl_s=ttl_s, replicas=replicas,
        routing=routing, load=load, concurrency=concurrency, semantics=prep.streams.semantics,
        engine=eng.name), time.perf_counter() - t0)


def _drive(prep: Prepared, load: str, args, out, lay, progress: Progress | None) -> None:
    req, reqf, blocks, tokens, layer, st, cp, ep, lp, rep, sess_rep = args
    n = prep.workload.n_requests
    if load in ("file", "nominal"):
        ctl = np.zeros(8, np.int64)
        order = np.arange(n, dtype=np.int64) if load == "file" else np.argsort(reqf[ev.F_TIME], kind="stable")
        for lo in range(0, n, CHUNK):
            hi = min(n, lo + CHUNK)
            ev.run_file(lo, hi, order, req, reqf, blocks, tokens, layer, st, cp, ep, lp, rep, sess_rep, ctl, out, lay)
            if progress:
                progress(hi, n)
        return
    ht, hs, hp, ctl = new_heap(n, rep.shape[0])
    queues = new_queues(rep.shape[0], n)
    sf = prep.workload.sess_first
    seed_events(ht, hs, hp, ctl, lp, reqf, sf, prep.sess_order)
    while run_events(CHUNK, ht, hs, hp, ctl, sf, prep.sess_order, req, reqf, blocks, tokens, layer, st, cp, ep,
                     lp, rep, sess_rep, out, lay, *queues):
        if progress:
            progress(int(ctl[ev.C_DONE]), n)


def sweep(prep: Prepared, configs: Sequence[dict], workers: int | None = None,
          progress: Progress | None = None) -> list[RunResult]:
    """Run :func:`run_one` for each keyword dict in ``configs``, on up to ``workers`` threads (default: one
    per CPU); the kernel releases the GIL, so runs proceed in parallel. Results keep the order of ``configs``."""
    workers = max(1, min(len(configs), workers or os.cpu_count() or 1))
    if workers == 1:
        return [run_one(prep, progress=progress, **c) for c in configs]
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(lambda c: run_one(prep, progress=progress, **c), configs))


def simulate(data: Workload | Prepared | str | Path, *, semantics: str = "simple", engine_block: int | None = None,
             policy: str = "lru", capacity: int | None | Sequence[int | None] = None, theoretical: bool = True,
             progress: Progress | None = None, **kw) -> SimReport:
    """Simulate a trace (path, :class:`Workload` or :func:`prepare` result) through a KV cache.

    ``semantics``: "simple" (hash-id leading run, FAST'25) or "vllm" (chained full blocks of
    ``engine_block`` tokens, n-1 cap, reply blocks cached, pins); ``policy``: one of ``kernel.POLICIES``;
    ``capacity``: blocks per replica, None = infinite, or a list for a sweep. Keyword options (see
    :func:`run_one`): ``host_capacity`` (host-tier blocks), ``ttl_s``, ``replicas``, ``routing``,
    ``load_cap``, ``load`` ("file", "nominal", "open", "closed"), ``concurrency``, ``engine`` (preset name, JSON path
    or :class:`EngineCost`), ``seed``, ``residency`` (False skips the block
    lifetime / reuse-gap / idle histograms, ~20 % faster), ``running_blocks`` (vllm: blocks a running request
    holds without cached content — its prompt's partial last block, its reply's — take capacity from the
    cache, as in vLLM; False gives the whole capacity to cached blocks, as the one-pass LRU curve does).
    ``theoretical`` adds an infinite-cache run in the same mode.
    ``progress(done, total)`` is called during each run. Returns a :class:`SimReport`.
    """
    if semantics not in SEMANTICS:
        raise ValueError(f"semantics must be one of {SEMANTICS}, got {semantics!r}")
    prep = data if isinstance(data, Prepared) else prepare(data, semantics, engine_block)
    caps = list(capacity) if isinstance(capacity, (list, tuple, np.ndarray)) else [capacity]
    runs = sweep(prep, [dict(policy=policy, capacity=c, **kw) for c in caps], progress=progress)
    theo = None
    if theoretical:
        theo = next((r for r in runs if r.capacity is None and r.policy in ("lru", "infinite")), None) or \
            run_one(prep, policy="infinite", capacity=None, progress=progress,
                    **{k: v for k, v in kw.items() if k != "ttl_s"})
    return SimReport(prep.workload, prep.streams.semantics, runs, theo)
