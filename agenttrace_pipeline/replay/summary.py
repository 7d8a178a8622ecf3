"""The summary of a replay: latency percentiles, throughput, goodput under a TTFT SLO, lateness, errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

PCTS = (50, 90, 99)


def pct(x: np.ndarray) -> dict[str, float]:
    """mean, p50/p90/p99 and max of ``x``; NaN-free; zeros when empty."""
    x = x[np.isfinite(x)]
    if x.size == 0:
        return {"mean": 0.0, **{f"p{p}": 0.0 for p in PCTS}, "max": 0.0}
    q = np.percentile(x, PCTS)
    return {"mean": float(x.mean()), **{f"p{p}": float(v) for p, v in zip(PCTS, q, strict=True)}, "max": float(x.max())}


def summarise(df: pl.DataFrame, wall_s: float, ttft_slo_ms: float, degraded_p99_ms: float) -> dict[str, Any]:
    """Statistics over the non-warm-up requests of ``df`` (schema :data:`..options.SCHEMA`)."""
    meas = df.filter(~pl.col("warmup"))
    ok = meas.filter(pl.col("error").is_null())
    sent = meas.filter(pl.col("sent_ms").is_not_null())
    late = sent["lateness_ms"].to_numpy().astype(float)
    t = sent["sent_ms"].to_numpy().astype(float)
    drift = float(np.polyfit(t / 1000, late, 1)[0]) if late.size >= 3 and np.ptp(t) > 0 else 0.0
    lat = pct(late)
    ttft = ok["ttft_ms"].to_numpy().astype(float)
    itl = ok["itl_ms"].explode().drop_nulls().to_numpy().astype(float)
    span = wall_s if wall_s > 0 else 1.0
    expected = ok["expected_prompt_tokens"].to_numpy().astype(float)
    got = ok["prompt_tokens"].fill_null(np.nan).to_numpy().astype(float)
    dev = np.abs(got - expected) / np.maximum(expected, 1)
    errors = meas.filter(pl.col("error").is_not_null()).group_by("error").len().sort("error")
    return {
        "planned": df.height, "measured": meas.height, "completed": ok.height,
        "failed": meas.height - ok.height, "errors": dict(zip(errors["error"].to_list(), errors["len"].to_list(), strict=True)),
        "wall_s": wall_s, "throughput_rps": ok.height / span,
        "output_tokens_per_s": float(ok["completion_tokens"].fill_null(0).sum()) / span,
        "goodput_rps": float((ttft <= ttft_slo_ms).sum()) / span, "ttft_slo_ms": ttft_slo_ms,
        "ttft_ms": pct(ttft), "itl_ms": pct(itl), "e2e_ms": pct(ok["e2e_ms"].to_numpy().astype(float)),
        "lateness_ms": {**lat, "drift_ms_per_s": drift}, "degraded": lat["p99"] > degraded_p99_ms,
        "token_rule_deviation": {"mean": float(np.nanmean(dev)) if np.isfinite(dev).any() else None,
                                 "max": float(np.nanmax(dev)) if np.isfinite(dev).any() else None},
    }


def usage_rate(df: pl.DataFrame) -> float | None:
    """Σ usage cached_tokens / Σ prompt_tokens over measured successful requests; None if the server sends neither."""
    ok = df.filter(~pl.col("warmup") & pl.col("error").is_null() & pl.col("cached_tokens").is_not_null())
    q = ok["prompt_tokens"].fill_null(0).sum()
    return float(ok["cached_tokens"].sum()) / float(q) if ok.height and q else None


def usage_by_turn(df: pl.DataFrame) -> list[dict[str, Any]]:
    ok = df.filter(~pl.col("warmup") & pl.col("error").is_null() & pl.col("cached_tokens").is_not_null())
    g = ok.group_by("turn").agg(pl.len().alias("requests"), pl.col("prompt_tokens").sum(), pl.col("cached_tokens").sum())
    return [{"turn": r["turn"], "requests": r["requests"],
             "usage_hit_rate": r["cached_tokens"] / r["prompt_tokens"] if r["prompt_tokens"] else 0.0}
            for r in g.sort("turn").iter_rows(named=True)]
