"""Replay on a virtual clock: the simulated engine's scheduler driven in process, no HTTP, no sleeping.

The same :class:`~agenttrace_pipeline.simserver.engine.Engine` and text rule as ``agenttrace serve-sim``: each
request's prompt is synthesised exactly as for a wall-clock replay and tokenised by the server's byte rule;
its reply is the engine's. Time jumps from one iteration's end to the next, and over runs of identical
decode-only iterations up to the next arrival (:meth:`Engine.decode_run`), so a replay takes seconds however
long the trace lasts. Times in the records are virtual milliseconds; lateness is 0 by construction. A request reaches the scheduler
the preset's ``request_ms`` after it is sent (its heap time); its records count from when it was sent.
"""

from __future__ import annotations

import heapq
from typing import Any

from agenttrace_pipeline.replay.hitrates import Scrapes
from agenttrace_pipeline.replay.options import EndpointSpec, ReplayOptions
from agenttrace_pipeline.replay.prompts import Plan
from agenttrace_pipeline.simserver.config import SimConfig
from agenttrace_pipeline.simserver.engine import Seq
from agenttrace_pipeline.simserver.tokens import reply_text, tokenize


def replay_virtual(p: Plan, ep: EndpointSpec, opt: ReplayOptions, rec: Any, config: SimConfig | None = None,
                   fast: bool = True) -> Scrapes:
    """Replay plan ``p`` through an in-process engine (``config``, else one at the endpoint's capacity).

    ``fast`` (the default) jumps over runs of identical decode steps and reuses a session's block names from
    its previous turn; False steps every iteration and hashes every prompt whole (the reference the fast path
    is tested against: both give the same records)."""
    if ep.kind != "sim":
        raise ValueError(f"the virtual clock drives the simulated engine only; endpoint kind is {ep.kind!r}")
    cfg = config or SimConfig(model=ep.model, capacity_blocks=ep.capacity_blocks, block_tokens=ep.block_tokens,
                              max_waiting=1 << 30)
    eng = cfg.build()
    pre = eng.cost.request_ms
    w = p.workload
    hist: dict[int, list[str]] = {}
    heap: list[tuple[float, int, int, int]] = []  # (arrival ms, tie, session, turn position)
    n_sess = len(p.sessions)
    next_sess = min(opt.concurrency, n_sess) if opt.mode == "closed" else n_sess
    for s in range(next_sess):
        heap.append(((0.0 if opt.mode == "closed" else p.start_ms(s) * opt.time_scale) + pre, s, s, 0))
    heapq.heapify(heap)
    tie = n_sess
    itl: dict[int, list[float]] = {}
    meta: dict[int, tuple[int, int, int, int, bool]] = {}  # rid -> (session, pos, row, expected, warm)
    last: dict[int, Seq] = {}  # session -> its last finished turn, whose prompt + reply start the next prompt

    def sink(seq: Seq, n: int, t: float, step: float, done: bool) -> None:
        nonlocal tie, next_sess
        gaps = itl.setdefault(seq.rid, [])
        gaps.extend([step] * (n if seq.generated > n else n - 1))
        if not done:
            return
        s, pos, row, expected, warm = meta.pop(seq.rid)
        sent = seq.arrival_ms - pre  # it reached the scheduler request_ms after it was sent
        rec.add({"row": row, "session": s, "turn": int(w.turn[row]), "warmup": warm, "target_ms": sent,
                 "sent_ms": sent, "lateness_ms": 0.0, "ttft_ms": seq.first_ms - sent,
                 "e2e_ms": t - sent, "itl_ms": itl.pop(seq.rid), "expected_prompt_tokens": expected,
                 "prompt_tokens": seq.n_prompt, "completion_tokens": seq.generated, "cached_tokens": seq.cached_tokens,
                 "finish_reason": "length", "status": 200, "error": None})
        hist[s].append(seq.reply)
        if fast:
            last[s] = seq
        tie += 1
        if pos + 1 < len(p.sessions[s]):
            heapq.heappush(heap, (t + float(w.delay[p.sessions[s][pos + 1]]) * opt.time_scale + pre, tie, s, pos + 1))
        elif opt.mode == "closed" and next_sess < n_sess:
            heapq.heappush(heap, (t + pre, tie, next_sess, 0))
            next_sess += 1

    now, rid = 0.0, 0
    limit = None if opt.duration_s is None else opt.duration_s * 1e3
    while heap or not eng.idle:
        if eng.idle:
            now = max(now, heap[0][0])
        while heap and heap[0][0] <= now:
            t, _, s, pos = heapq.heappop(heap)
            row = p.sessions[s][pos]
            if limit is not None and t - pre > limit:
                _drop_rest(p, s, pos, rec, t - pre)
                continue
            texts = hist.setdefault(s, [])
            texts.append(p.text(row))
            prompt = "".join(texts)
            rid += 1
            meta[rid] = (s, pos, row, len(prompt.encode()), rec.ticket())
            out = max(int(w.output_len[row]), 1)
            seq = Seq(rid, tokenize(prompt), out, reply_text(cfg.seed, rid, out), sink=sink)
            prev = last.pop(s, None)
            if prev is not None:  # block names of the previous prompt + reply are this prompt's leading ones
                seq.hashes, seq.blocks = list(prev.stream_hashes), prev.stream_blocks
            eng.submit(seq, t)
        d = eng.schedule(now)
        k = eng.decode_run() if fast else 1
        if k > 1 and heap and d > 0:
            k = max(1, min(k, int((heap[0][0] - now) // d)))
        now += d * k
        eng.complete(now, d, k)
    c = eng.counters
    return Scrapes([(0.0, 0.0, 0.0), (now / 1e3, float(c.hits), float(c.queries))], "vllm", [0.0, float(c.preemptions)])


def _drop_rest(p: Plan, s: int, pos: int, rec: Any, t: float) -> None:
    """Record a session's remaining turns as not sent (past the duration limit)."""
    w = p.workload
    for row in p.sessions[s][pos:]:
        rec.add({"row": row, "session": s, "turn": int(w.turn[row]), "warmup": False, "target_ms": t,
                 "expected_prompt_tokens": 0, "status": 0, "error": "duration_limit"})
