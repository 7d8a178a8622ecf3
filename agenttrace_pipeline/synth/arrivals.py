"""Arrival processes for sessions' turn-0 timestamps (ms from the start of the trace)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from agenttrace_pipeline.synth.config import Arrival

GapSampler = Callable[[np.random.Generator, int], np.ndarray]


def reference_inter_arrivals(path: str | Path) -> np.ndarray:
    """Inter-arrival times (ms) of a Mooncake JSONL trace (``timestamp`` ms) or an Azure CSV (``TIMESTAMP``)."""
    import polars as pl  # only this arrival process needs it; keep the generator's start-up light

    from agenttrace_pipeline import settings

    path = Path(settings.expand(str(path)))
    if not path.exists():
        raise FileNotFoundError(f"arrival trace {path} does not exist")
    if path.suffix.lower() == ".csv":
        ts = pl.read_csv(path, columns=["TIMESTAMP"], try_parse_dates=True)["TIMESTAMP"]
        if ts.dtype == pl.String:
            ts = ts.str.to_datetime()
        ms = (ts.cast(pl.Datetime("us")).cast(pl.Int64).to_numpy() / 1000.0)
    else:
        ms = pl.read_ndjson(path, schema={"timestamp": pl.Float64})["timestamp"].drop_nulls().to_numpy()
    gaps = np.diff(np.sort(ms))
    if gaps.size == 0:
        raise ValueError(f"arrival trace {path} has fewer than two timestamps")
    return gaps


def gap_sampler(arrival: Arrival) -> GapSampler:
    """A function drawing ``n`` inter-arrival gaps (ms) for the configured process."""
    if arrival.process == "none":
        return lambda rng, n: np.zeros(n)
    if arrival.process == "poisson":
        mean_ms = 1000.0 / arrival.rate_per_s  # type: ignore[operator]
        return lambda rng, n: rng.exponential(mean_ms, n)
    gaps = reference_inter_arrivals(arrival.trace)  # type: ignore[arg-type]
    scale = arrival.time_scale
    return lambda rng, n: rng.choice(gaps, n) * scale
