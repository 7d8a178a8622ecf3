"""Arrival processes for sessions' turn-0 timestamps (ms from the start of the trace)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from agenttrace_pipeline.synth.config import Arrival

GapSampler = Callable[[np.random.Generator, int], np.ndarray]


def reference_inter_arrivals(path: str | Path) -> np.ndarray:
    """Inter-arrival times (ms) of a Mooncake JSONL trace (``timestamp`` ms) or an Azure CSV (``TIMESTAMP``),
    read by the same adapters that build the ``arrivals`` table."""
    from agenttrace_pipeline import settings
    from agenttrace_pipeline.sources import arrival_traces

    path = Path(settings.expand(str(path)))
    if not path.exists():
        raise FileNotFoundError(f"arrival trace {path} does not exist")
    read = arrival_traces.read_azure if path.suffix.lower() == ".csv" else arrival_traces.read_mooncake
    gaps = np.diff(read([path], "arrival").arrivals_frame()["timestamp_ms"].to_numpy())
    if gaps.size == 0:
        raise ValueError(f"arrival trace {path} has fewer than two valid timestamps")
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
