"""Fit the simulated engine's cost model (:class:`~agenttrace_pipeline.cachesim.cost_model.EngineCost`) to
measured samples with scipy least squares, and write it as a named preset with its fit quality.

* prefill: ``TTFT ≈ k + pf1·T + pf_ctx·A/1000`` over batch-1 samples, ``T`` = uncached prompt tokens, ``A`` =
  ``T·(cached + T/2)`` the attention pairs, all terms ≥ 0; ``k`` is one step's fixed cost (``pf0``, set to the
  decode step's ``dc0``) plus ``request_ms``, what the engine spends on a request outside its steps (HTTP,
  tokenising, input and output processing);
* decode: ``step ≈ dc0 + dc_batch·(batch − 1) + dc_ctx·Σ(c/1000)^g`` (``c`` = each request's context tokens, the
  exponent ``g`` profiled between 0.3 and 1) over the decode samples (steps from their end-to-end time, see
  :func:`_decode_steps`), every term ≥ 0 (a step never gets cheaper with more work); with ``fill_terms`` also
  ``dc1·u + dc2·u²`` (``u`` = KV fill; the curvature ``dc2`` only when the samples span more than
  :data:`MIN_FILL_SPAN` of fill: a parabola through a narrow band extrapolates wildly).

The fit runs on group medians (prefill: per phase, uncached and prompt size; decode: per batch and context size),
because single requests on a busy shared CPU stall now and then by several times their normal time. Residuals are
log ratios (a 2 ms error matters on a 5 ms TTFT, not on a 250 ms one, and under- and over-prediction weigh the
same) with a soft-L1 loss. Quality per part: R² (on the ms scale), and the
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
CTX_EXPONENTS = tuple(float(g) for g in np.round(np.linspace(0.3, 1.0, 15), 2))  # decode context exponents tried
PREFILL_PHASES = ("prefill_cold", "prefill_warm", "output")
DECODE_PHASES = ("decode", "output")


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
    replay: dict[str, Any] | None = None  # the replay refinement (:meth:`.refine.Refined.to_dict`), when run

    def preset(self) -> dict[str, Any]:
        """The preset JSON object (only :class:`EngineCost` fields, so :func:`load_engine` reads it)."""
        return self.engine.to_dict()

    def report(self) -> dict[str, Any]:
        """The preset plus its fit quality (written beside the preset as ``<name>.fit.json``)."""
        return {"preset": self.preset(), "prefill": self.prefill.to_dict(), "decode": self.decode.to_dict(),
                "samples": self.samples, "replay": self.replay}


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


def fit_prefill(t: np.ndarray, ttft: np.ndarray, prefix: np.ndarray | None = None) -> tuple[np.ndarray, Quality]:
    """(pf1, pf_ctx, k) ≥ 0 of ``ttft ≈ k + pf1·t + pf_ctx·t·(prefix + t/2)/1000`` (``k`` = request_ms + pf0);
    ``prefix`` = the cached tokens before the ``t`` uncached ones (None: 0). Needs ≥ 3 samples at ≥ 2 sizes."""
    if t.size < 3 or np.unique(t).size < 2:
        raise ValueError(f"prefill fit needs >= 3 samples at >= 2 distinct uncached sizes, got {t.size}")
    c = np.zeros_like(t) if prefix is None else prefix
    x = np.stack([t, attended(t, c) / 1e3, np.ones_like(t)], axis=1)
    start = np.linalg.lstsq(x, ttft, rcond=None)[0].clip(min=0)
    sol = _solve(x, ttft, start)
    return sol.x, _quality(x @ sol.x, ttft)


def attended(t: np.ndarray, prefix: np.ndarray) -> np.ndarray:
    """(query, key) token pairs of a prefill of ``t`` tokens after ``prefix`` (the engine's ``A``)."""
    return t * (prefix + t / 2)


def fit_decode(batch: np.ndarray, context: np.ndarray, step: np.ndarray,
               fill: np.ndarray | None = None) -> tuple[np.ndarray, float, Quality]:
    """(dc2, dc1, dc0, dc_batch, dc_ctx) ≥ 0 and the exponent ``g`` of ``step ≈ dc0 + dc_batch·(batch−1) +
    dc_ctx·batch·(context/1000)^g (+ dc1·u + dc2·u²)``, ``context`` = one request's tokens; ``fill`` None leaves the
    fill terms out (0). ``g`` is profiled over :data:`CTX_EXPONENTS` (the best fit of each, then the best of them)."""
    if step.size < 2:
        raise ValueError(f"decode fit needs >= 2 samples, got {step.size}")
    curved = fill is not None and np.ptp(fill) > MIN_FILL_SPAN
    cols = [] if fill is None else ([fill * fill] if curved else []) + [fill]
    best: tuple[float, np.ndarray, float, np.ndarray] | None = None
    for g in CTX_EXPONENTS:
        x = np.stack([*cols, np.ones_like(batch), batch - 1.0, batch * (context / 1e3) ** g], axis=1)
        sol = _solve(x, step, np.linalg.lstsq(x, step, rcond=None)[0])
        if best is None or sol.cost < best[0]:
            best = (float(sol.cost), sol.x, float(g), x)
    assert best is not None
    _, coef, g, x = best
    return np.r_[np.zeros(2 - len(cols)), coef], g, _quality(x @ coef, step)


def fit_samples(samples: pl.DataFrame, *, name: str, source: str, max_batch_tokens: float,
                fill_terms: bool = False) -> Fit:
    """Fit both parts to sweep samples (:data:`.sweep.SAMPLE_SCHEMA`); ``source`` says what was measured.

    * prefill, from the one-at-a-time requests: ``TTFT ≈ k + pf1·T + pf_ctx·A/1000``. The constant ``k`` is split
      into one step's fixed cost (``pf0``, set to the decode step's ``dc0``: a step's overhead is the same
      whatever it computes) and ``request_ms``, the rest: time a request spends outside the steps;
    * decode: ``step ≈ dc0 + dc_batch·(batch − 1) + dc_ctx·Σ(c/1000)^g`` from the decode phase's end-to-end times
      (on vLLM's CPU build ``g`` came out between 0.45 and 1 from run to run).

    ``fill_terms`` False (the default) leaves out the KV-fill terms (dc1 = dc2 = 0): the simulated engine's KV
    fill counts every resident block, cached and idle ones included, so on a warm cache it sits near 1 whatever
    is decoding, while the sweep can only measure the fill of the running requests; what the fill stood for,
    the attention over the running requests' KV, is the context term. Replay samples (phase ``replay``) are not
    fitted here: their times include queueing, which :func:`.refine.refine` matches by simulation."""
    ok = samples.filter(pl.col("error").is_null())
    pre = _medians(ok.filter(pl.col("phase").is_in(PREFILL_PHASES) & pl.col("ttft_ms").is_not_null()
                             & pl.col("uncached_tokens").is_not_null() & (pl.col("concurrency") == 1)), "ttft_ms")
    t = pre["uncached_tokens"].to_numpy().astype(float)
    pf, pq = fit_prefill(t, pre["ttft_ms"].to_numpy().astype(float), pre["prompt_tokens"].to_numpy().astype(float) - t)
    dec = _medians(_decode_steps(ok, pf), "step_ms")
    n = dec["concurrency"].to_numpy().astype(float)
    ctx = dec["prompt_tokens"].to_numpy().astype(float) + dec["completion_tokens"].to_numpy().astype(float) / 2
    dc, g, dq = fit_decode(n, ctx, dec["step_ms"].to_numpy().astype(float),
                           dec["kv_fill"].to_numpy().astype(float) if fill_terms else None)
    floor = max(0.05, 0.5 * float(dec["step_ms"].to_numpy().min()))
    pf0 = min(float(pf[2]), float(dc[2]))
    stamp = datetime.now(UTC).strftime("%Y-%m-%d")
    text = (f"{source}; calibrated {stamp} by agenttrace calibrate from {ok.height} requests "
            f"(prefill R² {pq.r2:.3f}, |rel. residual| p50 {pq.rel_p50:.1%} p90 {pq.rel_p90:.1%}; "
            f"decode R² {dq.r2:.3f}, p50 {dq.rel_p50:.1%} p90 {dq.rel_p90:.1%})")
    eng = EngineCost(name=name, source=text, calibrated=True, pf2=0.0, pf1=float(pf[0]), pf0=pf0,
                     pf_ctx=float(pf[1]), request_ms=float(pf[2]) - pf0,
                     dc2=float(dc[0]), dc1=float(dc[1]), dc0=float(dc[2]), dc_batch=float(dc[3]), dc_ctx=float(dc[4]), dc_ctx_exp=g,
                     floor_ms=floor, max_batch_tokens=float(max_batch_tokens))
    return Fit(eng, pq, dq, ok.height)


def _decode_steps(ok: pl.DataFrame, pf: np.ndarray) -> pl.DataFrame:
    """Decode samples with ``step_ms`` taken from the end-to-end time: (e2e − the fitted prefill of the batch's
    prompts) / (output tokens − 1). The gaps between streamed chunks cannot be used: vLLM's CPU build delivers a
    reply's tokens in bursts (many tokens in one network read, the first one late), so first-to-last-chunk time
    says little about the steps, while the request's end is exact. The n requests of a decode sample start together,
    so their prefills are counted as one prefill of n prompts (``pf`` as returned by :func:`fit_prefill`)."""
    dec = ok.filter(pl.col("phase").is_in(DECODE_PHASES) & pl.col("uncached_tokens").is_not_null()
                    & (pl.col("completion_tokens") > 1))
    n = dec["concurrency"].to_numpy().astype(float)
    t = dec["uncached_tokens"].to_numpy().astype(float)
    prefill = pf[0] * n * t + pf[1] * n * attended(t, np.zeros_like(t)) / 1e3 + pf[2]
    step = (dec["e2e_ms"].to_numpy() - prefill) / (dec["completion_tokens"].to_numpy() - 1)
    return dec.with_columns(step_ms=pl.Series(step)).filter(pl.col("step_ms") > 0)


def _medians(df: pl.DataFrame, value: str) -> pl.DataFrame:
    """Median ``value`` (and of the inputs) per group — TTFT: phase, uncached and prompt size; decode step:
    phase, batch, and prompt size in 1,024-token bins."""
    if value == "ttft_ms":
        return df.group_by("phase", "uncached_tokens", "prompt_tokens").agg(pl.col(value, "kv_fill").median()).sort(pl.all())
    return df.group_by("phase", "concurrency", pl.col("prompt_tokens").alias("_bin") // 1024).agg(
        pl.col(value, "uncached_tokens", "kv_fill", "prompt_tokens", "completion_tokens").median()).sort(pl.all())


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
