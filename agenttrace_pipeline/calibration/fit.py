"""Fit the simulated engine's cost model (:class:`~agenttrace_pipeline.cachesim.cost_model.EngineCost`) to
measured samples with scipy least squares, and write it as a named preset with its fit quality.

* prefill: ``TTFT ≈ pf2·T² + pf1·T + pf0`` over batch-1 samples, ``T`` = uncached prompt tokens, all three
  terms ≥ 0. ``pf0`` absorbs what the engine spends on a request besides its prefill arithmetic (HTTP,
  tokenisation, scheduling, the first sampling step) — the cost model has no separate per-request term;
* decode: ``step ≈ dc0 + dc_batch·(batch − 1) + dc1·u + dc2·u²`` (``u`` = KV fill) over the decode samples
  (steps from their end-to-end time, see :func:`_decode_steps`),
  every term ≥ 0 (a step never gets cheaper with more work); the curvature ``dc2`` is fitted only when the
  samples span more than :data:`MIN_FILL_SPAN` of fill (otherwise it is 0: a parabola through a narrow band
  extrapolates wildly).

The fit runs on group medians (prefill: per phase and uncached size, replay samples binned by powers of two;
decode: per batch and context size), because single requests on a busy shared CPU stall now and then by several
times their normal time. Residuals are log ratios (a 2 ms error matters on a 5 ms TTFT, not on a 250 ms one,
and under- and over-prediction weigh the same) with a soft-L1 loss. Quality per part: R² (on the ms scale), and the
p50/p90/max of |relative residual|.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import polars as pl
from scipy.optimize import least_squares

from agenttrace_pipeline.cachesim.cost_model import EngineCost

MIN_FILL_SPAN = 0.5
PREFILL_PHASES = ("prefill_cold", "prefill_warm", "output", "replay")


@dataclass(frozen=True)
class Quality:
    n: int
    r2: float
    rel_p50: float
    rel_p90: float
    rel_max: float

    def to_dict(self) -> dict[str, float | int]:
        return {"n": self.n, "r2": self.r2, "rel_p50": self.rel_p50, "rel_p90": self.rel_p90, "rel_max": self.rel_max}


@dataclass(frozen=True)
class Fit:
    """A fitted cost model and how well it fits; ``engine`` is what the simulated engine loads."""

    engine: EngineCost
    prefill: Quality
    decode: Quality
    samples: int

    def preset(self) -> dict[str, Any]:
        """The preset JSON object (only :class:`EngineCost` fields, so :func:`load_engine` reads it)."""
        return self.engine.to_dict()

    def report(self) -> dict[str, Any]:
        """The preset plus its fit quality (written beside the preset as ``<name>.fit.json``)."""
        return {"preset": self.preset(), "prefill": self.prefill.to_dict(), "decode": self.decode.to_dict(),
                "samples": self.samples}


def _quality(pred: np.ndarray, obs: np.ndarray) -> Quality:
    res = pred - obs
    ss = float(((obs - obs.mean()) ** 2).sum())
    rel = np.abs(res) / np.maximum(obs, 1e-9)
    return Quality(int(obs.size), 1.0 - float((res ** 2).sum()) / ss if ss > 0 else float("nan"),
                   float(np.percentile(rel, 50)), float(np.percentile(rel, 90)), float(rel.max()))


def _solve(x: np.ndarray, y: np.ndarray, start: np.ndarray):
    """Non-negative ``p`` with ``x @ p ≈ y`` in log space (symmetric in over/under-prediction), soft-L1 loss."""
    def resid(p: np.ndarray) -> np.ndarray:
        return np.log(np.maximum(x @ p, 1e-6) / y)

    return least_squares(resid, np.maximum(start, 0) + 1e-3, bounds=(0, np.inf), loss="soft_l1", f_scale=0.2)


def fit_prefill(t: np.ndarray, ttft: np.ndarray) -> tuple[np.ndarray, Quality]:
    """(pf2, pf1, pf0) ≥ 0 of ``ttft ≈ pf2·t² + pf1·t + pf0``; needs ≥ 3 samples at ≥ 2 distinct sizes."""
    if t.size < 3 or np.unique(t).size < 2:
        raise ValueError(f"prefill fit needs >= 3 samples at >= 2 distinct uncached sizes, got {t.size}")
    x = np.stack([t * t, t, np.ones_like(t)], axis=1)
    start = np.linalg.lstsq(x, ttft, rcond=None)[0].clip(min=0)
    sol = _solve(x, ttft, start)
    return sol.x, _quality(x @ sol.x, ttft)


def fit_decode(batch: np.ndarray, fill: np.ndarray | None, step: np.ndarray) -> tuple[np.ndarray, Quality]:
    """(dc2, dc1, dc0, dc_batch) ≥ 0 of ``step ≈ dc0 + dc_batch·(batch−1) + dc1·u + dc2·u²``; ``fill`` None
    leaves the fill terms out (0)."""
    if step.size < 2:
        raise ValueError(f"decode fit needs >= 2 samples, got {step.size}")
    if fill is None:
        x = np.stack([np.ones_like(batch), batch - 1.0], axis=1)
        sol = _solve(x, step, np.linalg.lstsq(x, step, rcond=None)[0])
        return np.r_[0.0, 0.0, sol.x], _quality(x @ sol.x, step)
    curved = np.ptp(fill) > MIN_FILL_SPAN
    cols = [fill * fill] if curved else []
    x = np.stack([*cols, fill, np.ones_like(fill), batch - 1.0], axis=1)
    sol = _solve(x, step, np.linalg.lstsq(x, step, rcond=None)[0])
    p = sol.x if curved else np.r_[0.0, sol.x]
    return p, _quality(x @ sol.x, step)


def fit_samples(samples: pl.DataFrame, *, name: str, source: str, max_batch_tokens: float,
                fill_terms: bool = False) -> Fit:
    """Fit both parts to sweep samples (:data:`.sweep.SAMPLE_SCHEMA`); ``source`` says what was measured.

    ``fill_terms`` False (the default) fits the decode step against batch size only (dc1 = dc2 = 0): the
    simulated engine's KV fill counts every resident block, cached and idle ones included, so on a warm cache
    it sits near 1 whatever is decoding, while the sweep can only measure the fill of the running requests
    (vLLM's ``kv_cache_usage_perc``). With a fill term fitted on the latter, a warm simulated engine would
    charge every step the full-cache cost."""
    ok = samples.filter(pl.col("error").is_null())
    pre = _medians(ok.filter(pl.col("phase").is_in(PREFILL_PHASES) & pl.col("ttft_ms").is_not_null()
                             & pl.col("uncached_tokens").is_not_null()
                             & ((pl.col("concurrency") == 1) | (pl.col("phase") == "replay"))), "ttft_ms")
    # replay decode samples stay out: on the shared CPU their batch estimate and their steps feed back into
    # each other (a slower fitted step makes bigger simulated batches), which overshot end-to-end by ~50 %
    pf, pq = fit_prefill(pre["uncached_tokens"].to_numpy().astype(float), pre["ttft_ms"].to_numpy().astype(float))
    dec = _medians(_decode_steps(ok, pf), "step_ms")
    dc, dq = fit_decode(dec["concurrency"].to_numpy().astype(float),
                        dec["kv_fill"].to_numpy().astype(float) if fill_terms else None, dec["step_ms"].to_numpy().astype(float))
    floor = max(0.05, 0.5 * float(dec["step_ms"].to_numpy().min()))  # fit_decode needs >= 2 rows
    stamp = datetime.now(UTC).strftime("%Y-%m-%d")
    text = (f"{source}; calibrated {stamp} by agenttrace calibrate from {ok.height} requests "
            f"(prefill R² {pq.r2:.3f}, |rel. residual| p50 {pq.rel_p50:.1%} p90 {pq.rel_p90:.1%}; "
            f"decode R² {dq.r2:.3f}, p50 {dq.rel_p50:.1%} p90 {dq.rel_p90:.1%})")
    eng = EngineCost(name=name, source=text, calibrated=True, pf2=float(pf[0]), pf1=float(pf[1]), pf0=float(pf[2]),
                     dc2=float(dc[0]), dc1=float(dc[1]), dc0=float(dc[2]), dc_batch=float(dc[3]), floor_ms=floor,
                     max_batch_tokens=float(max_batch_tokens))
    return Fit(eng, pq, dq, ok.height)


def _decode_steps(ok: pl.DataFrame, pf: np.ndarray) -> pl.DataFrame:
    """Decode samples with ``step_ms`` taken from the end-to-end time: (e2e − the fitted prefill of the batch's
    prompts) / (output tokens − 1). The gaps between streamed chunks cannot be used: vLLM's CPU build delivers a
    reply's tokens in bursts (many tokens in one network read, the first one late), so first-to-last-chunk time
    says little about the steps, while the request's end is exact. The n requests of a decode sample start together,
    so their prefills are counted as one prefill of n prompts."""
    dec = ok.filter((pl.col("phase") == "decode") & pl.col("kv_fill").is_not_null()
                    & pl.col("uncached_tokens").is_not_null() & (pl.col("completion_tokens") > 1))
    t = (dec["uncached_tokens"] * dec["concurrency"]).to_numpy().astype(float)
    prefill = pf[0] * t * t + pf[1] * t + pf[2]
    step = (dec["e2e_ms"].to_numpy() - prefill) / (dec["completion_tokens"].to_numpy() - 1)
    return dec.with_columns(step_ms=pl.Series(step)).filter(pl.col("step_ms") > 0)


def _medians(df: pl.DataFrame, value: str) -> pl.DataFrame:
    """Median ``value`` (and of the inputs) per group — TTFT: phase and uncached size (log2 bins for replays);
    decode step: phase, batch, and prompt size in 1,024-token bins."""
    size = pl.when(pl.col("phase") == "replay").then(pl.col("uncached_tokens").clip(1).log(2).round(0)) \
        .otherwise(pl.col("uncached_tokens")).alias("_size")
    keys = ["phase", size] if value == "ttft_ms" else ["phase", "concurrency", pl.col("prompt_tokens") // 1024]
    return df.group_by(keys).agg(pl.col(value, "uncached_tokens", "kv_fill").median()).sort(pl.all())


def write_preset(fit: Fit, path: Path) -> Path:
    """Write the preset to ``path`` (a ``.json`` file) and its fit report beside it as ``<stem>.fit.json``
    in a ``fits`` subfolder (so a presets folder lists only presets); returns the preset's path."""
    if path.suffix != ".json":
        raise ValueError(f"{path}: a preset file name must end in .json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(fit.preset(), option=orjson.OPT_INDENT_2) + b"\n")
    report = path.parent / "fits" / f"{path.stem}.fit.json"
    report.parent.mkdir(exist_ok=True)
    report.write_bytes(orjson.dumps(fit.report(), option=orjson.OPT_INDENT_2) + b"\n")
    return path
