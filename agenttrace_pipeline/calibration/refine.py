"""Match the simulated engine to a measured replay by simulation: the second half of a calibration.

The sweep (:mod:`.fit`) measures the engine one request at a time and in clean batches. Under a real replay the
same engine is slower: its API process tokenises, detokenises and streams for every request in flight and, on a
machine the engine shares with its clients, takes CPU from the steps. No sweep sees that, so the fitted preset
under-predicts a replay (on the 2-core CI machine kind, TTFT and end-to-end by 30–50 %).

:func:`refine` closes that gap with three knobs, found by replaying the measured dataset through the simulated
engine on the virtual clock (the same schedule, geometry and batching limits) and minimising the squared log
ratios of TTFT and end-to-end p10/p50/p90 and time-per-output-token p50/p90, simulated against measured (a coarse
grid, then scipy's Nelder–Mead, bounded; the p10s tell the fixed request time from the load factors, which stretch
the long requests most, and the per-token times tell decode from prefill):

* ``prefill_load`` — one factor on the prefill step costs (the sweep fixes their proportions);
* ``decode_load`` — one factor on the decode step costs;
* ``request_ms`` — the time a request spends outside the steps.

Three knobs against eight quantiles keep the result a property of the engine under load, not of the one replay it
was fitted on; the unseen-data check (:mod:`.compare`) says how far it carries.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from scipy.optimize import minimize

from agenttrace_pipeline.cachesim.cost_model import EngineCost
from agenttrace_pipeline.replay.prompts import Plan, plan

QUANTILES = (("ttft_ms", 0.1), ("ttft_ms", 0.5), ("ttft_ms", 0.9), ("e2e_ms", 0.1), ("e2e_ms", 0.5), ("e2e_ms", 0.9),
             ("tpot_ms", 0.5), ("tpot_ms", 0.9))
LOAD_BOUNDS = (0.25, 4.0)
MAX_REQUEST_MS = 10_000.0
PREFILL_FIELDS = ("pf2", "pf1", "pf0", "pf_ctx")
DECODE_FIELDS = ("dc2", "dc1", "dc0", "dc_batch", "dc_ctx", "floor_ms")


@dataclass(frozen=True)
class Refined:
    """The refined engine, its three knobs, and the replay's quantiles: measured, before and after."""

    engine: EngineCost
    prefill_load: float
    decode_load: float
    request_ms: float
    measured: list[float]
    before: list[float]
    after: list[float]
    evaluations: int

    def errors(self, which: str = "after") -> list[float]:
        sim = self.after if which == "after" else self.before
        return [(s - m) / m for s, m in zip(sim, self.measured, strict=True)]

    def to_dict(self) -> dict[str, Any]:
        names = [f"{c.removesuffix('_ms')}_p{int(q * 100)}" for c, q in QUANTILES]
        return {"prefill_load": self.prefill_load, "decode_load": self.decode_load, "request_ms": self.request_ms,
                "evaluations": self.evaluations,
                "measured_ms": dict(zip(names, self.measured, strict=True)),
                "error_before": dict(zip(names, self.errors("before"), strict=True)),
                "error_after": dict(zip(names, self.errors("after"), strict=True))}


def scaled(engine: EngineCost, prefill_load: float, decode_load: float, request_ms: float) -> EngineCost:
    """``engine`` with its prefill and decode step costs multiplied by the two loads and ``request_ms`` set."""
    return dataclasses.replace(engine, request_ms=float(request_ms),
                               **{f: getattr(engine, f) * prefill_load for f in PREFILL_FIELDS},
                               **{f: getattr(engine, f) * decode_load for f in DECODE_FIELDS})


def quantiles(records: pl.DataFrame) -> list[float]:
    """TTFT and end-to-end p10/p50/p90 and time per output token p50/p90 (ms) of the successful requests."""
    ok = records.filter(pl.col("error").is_null() & pl.col("ttft_ms").is_not_null())
    if ok.height == 0:
        raise ValueError("the measured replay has no successful request to match")
    ok = ok.with_columns(tpot_ms=(pl.col("e2e_ms") - pl.col("ttft_ms")) / (pl.col("completion_tokens") - 1).clip(1))
    return [float(ok[c].quantile(q, interpolation="linear") or 0.0) for c, q in QUANTILES]


def simulate(dataset: Path | Plan, engine: EngineCost, *, block_tokens: int, capacity_blocks: int, max_seqs: int,
             max_batch_tokens: int, options: Any) -> pl.DataFrame:
    """Per-request records of ``dataset`` (a Mooncake file, or its replay plan) replayed through the simulated
    engine on the virtual clock."""
    from agenttrace_pipeline.replay.options import EndpointSpec
    from agenttrace_pipeline.replay.runner import Recorder, frame
    from agenttrace_pipeline.replay.virtual import replay_virtual
    from agenttrace_pipeline.simserver.config import SimConfig

    p = plan(dataset, options.max_requests) if isinstance(dataset, Path) else dataset
    rec = Recorder(int(p.rows.size), options.warmup, 1 << 62, None, None)
    cfg = SimConfig(model="sim", capacity_blocks=capacity_blocks, block_tokens=block_tokens, engine=engine,
                    max_seqs=max_seqs, max_batch_tokens=max_batch_tokens, max_waiting=1 << 30)
    replay_virtual(p, EndpointSpec("virtual", "sim", "sim", None, capacity_blocks, block_tokens),
                   dataclasses.replace(options, clock="virtual"), rec, cfg)
    return frame(rec.records)


def refine(engine: EngineCost, dataset: Path, measured: pl.DataFrame, *, block_tokens: int, capacity_blocks: int,
           max_seqs: int, max_batch_tokens: int, options: Any, max_evaluations: int = 200) -> Refined:
    """Fit the two loads and ``request_ms`` so that ``dataset`` replayed on the virtual clock matches ``measured`` (the
    per-request records of the same dataset replayed against the engine with ``options``); see the module
    docstring. Raises ValueError when ``measured`` has no successful request."""
    target = np.log(quantiles(measured))
    replay_plan = plan(dataset, options.max_requests)  # parsed once: every evaluation replays the same requests
    geometry = {"block_tokens": block_tokens, "capacity_blocks": capacity_blocks, "max_seqs": max_seqs,
                "max_batch_tokens": max_batch_tokens, "options": options}
    seen: dict[tuple[float, float, float], list[float]] = {}

    def knobs(x: np.ndarray) -> tuple[float, float, float]:
        lo, hi = np.log(LOAD_BOUNDS)
        return (float(np.exp(np.clip(x[0], lo, hi))), float(np.exp(np.clip(x[1], lo, hi))),
                float(np.clip(x[2], 0.0, MAX_REQUEST_MS)))

    def run(k: tuple[float, float, float]) -> list[float]:
        key = (round(k[0], 6), round(k[1], 6), round(k[2], 4))
        if key not in seen:
            seen[key] = quantiles(simulate(replay_plan, scaled(engine, *k), **geometry))
        return seen[key]

    def loss(x: np.ndarray) -> float:
        return float(((np.log(run(knobs(x))) - target) ** 2).sum())

    # a coarse grid first (a discrete-event replay's quantiles move in steps, so a simplex alone can stall
    # on a ledge), then the simplex from the best grid point
    scale = max(2.0, engine.request_ms)
    loads = np.log(np.geomspace(0.5, 3.0, 7))
    grid = [np.array([a, b, c * scale]) for a in loads for b in loads for c in (0.0, 1.0, 2.0, 4.0)]
    start = min(grid, key=loss)
    simplex = np.array([start, start + [0.15, 0.0, 0.0], start + [0.0, 0.15, 0.0], start + [0.0, 0.0, 0.5 * scale]])
    res = minimize(loss, start, method="Nelder-Mead",
                   options={"initial_simplex": simplex, "maxfev": max_evaluations, "xatol": 0.005, "fatol": 1e-5})
    pl_, dl, request_ms = knobs(res.x)
    best = dataclasses.replace(scaled(engine, pl_, dl, request_ms), source=(
        f"{engine.source}; matched to a measured replay by simulation: prefill steps × {pl_:.3f}, decode steps × "
        f"{dl:.3f}, request_ms {request_ms:.2f}"))
    return Refined(best, pl_, dl, request_ms, [float(v) for v in np.exp(target)], run((1.0, 1.0, engine.request_ms)),
                   run((pl_, dl, request_ms)), len(seen))
