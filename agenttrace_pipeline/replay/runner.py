"""``run_replay``: a Mooncake dataset replayed against an OpenAI-compatible server (or the simulated engine on a
virtual clock), every planned request accounted for.

Schedule zero is one absolute perf_counter instant; each request's target is absolute too (turn 0 at
``timestamp·time_scale``, later turns ``delay·time_scale`` after the previous response ended), so lateness
includes any constant lag and continuation turns. Failure policy: see :class:`ReplayOptions`.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import polars as pl

from agenttrace_pipeline.replay import summary as sm
from agenttrace_pipeline.replay.client import Outcome, body, send
from agenttrace_pipeline.replay.hitrates import Scrapes, compare
from agenttrace_pipeline.replay.http1 import Pool
from agenttrace_pipeline.replay.options import EndpointSpec, ReplayOptions, ReplayResult, frame
from agenttrace_pipeline.replay.priority import sender_priority
from agenttrace_pipeline.replay.prompts import Plan, plan

LEAD_S = 0.02  # a fixed-schedule session's task starts this long before its first send
Progress = Callable[[int, int], None]
Sink = Callable[[pl.DataFrame], None]


class Recorder:
    """Collects records, marks the first ``warmup`` sent as warm-up, flushes every ``every`` to ``sink``."""

    def __init__(self, total: int, warmup: int, every: int, sink: Sink | None, progress: Progress | None) -> None:
        self.records: list[dict[str, Any]] = []
        self.total, self.warmup, self.every = total, warmup, every
        self.sink, self.progress = sink, progress
        self._flushed = 0
        self._sent = 0

    def ticket(self) -> bool:
        """Call when a request is sent: True if it is a warm-up request."""
        self._sent += 1
        return self._sent <= self.warmup

    def add(self, rec: dict[str, Any]) -> None:
        self.records.append(rec)
        if self.progress:
            self.progress(len(self.records), self.total)
        if self.sink and len(self.records) - self._flushed >= self.every:
            self.flush()

    def flush(self) -> None:
        if self.sink and len(self.records) > self._flushed:
            self.sink(frame(self.records[self._flushed:]))
            self._flushed = len(self.records)


def record(p: Plan, row: int, turn: int, session: int, expected: int, t0: float, target: float | None,
           o: Outcome | None, error: str | None, warm: bool) -> dict[str, Any]:
    """One request's row (``o`` None: never sent)."""
    base: dict[str, Any] = {"row": row, "session": session, "turn": turn, "warmup": warm,
                            "target_ms": None if target is None else (target - t0) * 1e3,
                            "expected_prompt_tokens": expected, "error": error}
    if o is None:
        return {**base, "status": 0}
    u = o.usage or {}
    det = u.get("prompt_tokens_details") or {}
    ch = np.asarray(o.chunks)
    return {**base, "sent_ms": (o.sent - t0) * 1e3, "lateness_ms": (o.sent - target) * 1e3 if target else 0.0,
            "ttft_ms": None if o.first is None else (o.first - o.sent) * 1e3, "e2e_ms": (o.end - o.sent) * 1e3,
            "itl_ms": (np.diff(ch) * 1e3).tolist(), "prompt_tokens": u.get("prompt_tokens"),
            "completion_tokens": u.get("completion_tokens"), "cached_tokens": det.get("cached_tokens"),
            "finish_reason": o.finish_reason, "status": o.status, "error": o.error}


async def sleep_until(t: float) -> None:
    """Sleep to the perf_counter instant ``t``: the event loop's timer to 1.5 ms before, then yield-spin."""
    d = t - time.perf_counter()
    if d > 0.002:
        await asyncio.sleep(d - 0.0015)
    while time.perf_counter() < t:
        await asyncio.sleep(0)


class _Run:
    def __init__(self, p: Plan, ep: EndpointSpec, opt: ReplayOptions, rec: Recorder) -> None:
        self.p, self.ep, self.opt, self.rec = p, ep, opt, rec
        self.chat = opt.endpoint == "chat"
        self.path = "/v1/chat/completions" if self.chat else "/v1/completions"
        self.t0 = 0.0
        self.client: httpx.AsyncClient  # scrapes and the cache flush
        self.pool: Pool  # the requests themselves

    async def session(self, s: int, start: float | None) -> None:
        p, opt, w = self.p, self.opt, self.p.workload
        history: list[str] = []
        expected, failed, prev_end = 0, False, start or time.perf_counter()
        for k, row in enumerate(p.sessions[s]):
            target = prev_end + (float(w.delay[row]) * opt.time_scale / 1e3 if k else 0.0)
            new = p.text(row)
            expected += len(new.encode())
            stop = "duration_limit" if opt.duration_s is not None and target - self.t0 > opt.duration_s else None
            stop = stop or ("skipped_after_failure" if failed and opt.failure_policy == "skip" else None)
            if stop:
                self.rec.add(record(p, row, int(w.turn[row]), s, expected, self.t0, target, None, stop, False))
                continue
            history.append(new)
            await sleep_until(target)
            warm = self.rec.ticket()
            o = await send(self.pool, self.path, body(self.ep.model, history, int(w.output_len[row]), self.chat),
                           self.chat, opt.timeout_s)
            self.rec.add(record(p, row, int(w.turn[row]), s, expected, self.t0, target, o, o.error, warm))
            failed = failed or o.error is not None
            history.append(o.text)
            expected += len(o.text.encode())
            prev_end = o.end

    async def run(self) -> Scrapes:
        opt, ep = self.opt, self.ep
        headers = {"authorization": f"Bearer {ep.api_key}"} if ep.api_key else {}
        limits = httpx.Limits(max_connections=4)
        scrapes = Scrapes()
        self.pool = Pool(ep.url, opt.pool_size, headers)
        async with httpx.AsyncClient(base_url=ep.url, headers=headers, limits=limits,
                                     timeout=httpx.Timeout(opt.timeout_s, connect=10.0)) as self.client:
            if opt.flush_cache:
                try:
                    await self.client.post("/reset_prefix_cache")
                except httpx.HTTPError:
                    pass  # a server without the endpoint replays warm
            await scrapes.take(self.client, time.perf_counter())
            stop = asyncio.Event()
            scraper = asyncio.create_task(self._scrape(scrapes, stop))
            self.t0 = time.perf_counter() + 0.05
            if opt.mode == "fixed":
                await self._fixed()
            else:
                queue = iter(range(len(self.p.sessions)))
                await sleep_until(self.t0)
                await asyncio.gather(*(self._worker(queue) for _ in range(opt.concurrency)))
            stop.set()
            await scraper
            await scrapes.take(self.client, time.perf_counter())
        await self.pool.aclose()
        return scrapes

    async def _fixed(self) -> None:
        """Start each session's task :data:`LEAD_S` before its first turn (sessions come in start order): setting up
        thousands of sessions at once would hold the event loop past the first send targets."""
        tasks = []
        for s in range(len(self.p.sessions)):
            start = self.t0 + self.p.start_ms(s) * self.opt.time_scale / 1e3
            d = start - LEAD_S - time.perf_counter()
            if d > 0:
                await asyncio.sleep(d)
            tasks.append(asyncio.create_task(self.session(s, start)))
        await asyncio.gather(*tasks)

    async def _worker(self, queue: Any) -> None:
        for s in queue:
            await self.session(s, time.perf_counter())

    async def _scrape(self, scrapes: Scrapes, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), self.opt.scrape_every_s)
            except TimeoutError:
                await scrapes.take(self.client, time.perf_counter())


def predict(p: Plan, ep: EndpointSpec, opt: ReplayOptions) -> dict[str, Any] | None:
    """The cache simulator's hit rate for these requests at the server's usable capacity (vLLM semantics), timed
    by ``opt.predict_engine``."""
    from agenttrace_pipeline.cachesim.simulate import simulate

    load = "closed" if opt.mode == "closed" else "open"
    rep = simulate(p.workload, semantics="vllm", engine_block=ep.block_tokens, capacity=ep.usable_blocks,
                   theoretical=False, load=load, concurrency=opt.concurrency if load == "closed" else None,
                   engine=opt.predict_engine)
    r = rep.runs[0]
    return {"hit_rate": r.hit_rate, "by_turn": r.by_turn}


def run_replay(dataset: Path, endpoint: EndpointSpec, options: ReplayOptions, *, progress: Progress | None = None,
               sink: Sink | None = None) -> ReplayResult:
    """Replay ``dataset`` (Mooncake JSONL) against ``endpoint``; ``sink`` receives record batches as they finish
    (a killed replay keeps what was flushed), ``progress(done, total)`` after each request."""
    p = plan(dataset, options.max_requests)
    total = int(p.rows.size)
    rec = Recorder(total, options.warmup, options.flush_every, sink, progress)
    t = time.perf_counter()
    sim: dict[str, Any] | None = None
    priority: str = "normal"
    if options.clock == "virtual":
        from agenttrace_pipeline.replay.virtual import replay_virtual

        # the simulator's kernels release the GIL: its prediction runs beside the in-process replay (a wall-clock
        # replay runs it afterwards, so that it never delays a send)
        with ThreadPoolExecutor(1, thread_name_prefix="replay-predict") as ex:
            predicted = ex.submit(predict, p, endpoint, options)
            scrapes = replay_virtual(p, endpoint, options, rec)
            wall = time.perf_counter() - t
            sim = predicted.result()
    else:
        # objects alive now (modules, the plan) are never garbage: frozen, a collection during the replay skips them
        # and stays short enough not to delay a send
        gc.collect()
        gc.freeze()
        try:
            # a send late by more than a millisecond is nearly always one whose thread waited in the kernel's run
            # queue when its timer fired (see replay.priority): the sending thread runs at a raised priority
            with sender_priority(options.priority_level()) as priority:
                scrapes = asyncio.run(_Run(p, endpoint, options, rec).run())
        finally:
            gc.unfreeze()
        wall = time.perf_counter() - t
    rec.flush()
    df = frame(rec.records).sort("row")
    summary = sm.summarise(df, wall if options.clock == "wall" else _span_s(df), options.ttft_slo_ms,
                           options.degraded_p99_ms)
    summary["replay_wall_s"] = wall
    summary["sender_priority"] = priority
    summary["preemptions"] = scrapes.preempted()  # Δ vllm:num_preemptions_total (None: the server does not say)
    if options.clock == "wall":
        sim = predict(p, endpoint, options)
    rates = compare(sim["hit_rate"] if sim else None, scrapes.rate(), sm.usage_rate(df))
    rates.update(counter_dialect=scrapes.dialect, frozen_counter=scrapes.frozen(), scrapes=len(scrapes.points),
                 by_turn=_by_turn(sim, df))
    return ReplayResult(df, summary, rates)


def _span_s(df: pl.DataFrame) -> float:
    ends = (df["sent_ms"] + df["e2e_ms"]).drop_nulls()
    return float(ends.max()) / 1e3 if ends.len() else 0.0  # type: ignore[arg-type]


def _by_turn(sim: dict[str, Any] | None, df: pl.DataFrame) -> list[dict[str, Any]]:
    sim_turn = {t["turn"]: t["hit_rate"] for t in (sim or {}).get("by_turn", [])}
    return [{**u, "simulator_hit_rate": sim_turn.get(u["turn"])} for u in sm.usage_by_turn(df)]
