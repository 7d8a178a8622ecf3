"""Arrival processes for sessions' turn-0 timestamps (ms from the start of the trace)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from agenttrace_pipeline.synth.config import Arrival
from agenttrace_pipeline.synth.reference import Law


def reference_inter_arrivals(path: str | Path) -> np.ndarray:
    """Inter-arrival times (ms) of a Mooncake JSONL trace (``timestamp`` ms) or an Azure CSV (``TIMESTAMP``),
    read by the same adapters that build the ``arrivals`` table."""
    from agenttrace_pipeline import settings
    from agenttrace_pipeline.sources import arrival_traces

    path = Path(settings.expand(str(path)))
    if not path.is_file():
        raise FileNotFoundError(f"arrival trace {path} does not exist" if not path.exists()
                                else f"arrival trace {path} is not a file")
    read = arrival_traces.read_azure if path.suffix.lower() == ".csv" else arrival_traces.read_mooncake
    gaps = np.diff(read([path], "arrival").arrivals_frame()["timestamp_ms"].to_numpy())
    gaps = gaps[np.isfinite(gaps)]
    if gaps.size == 0:
        raise ValueError(f"arrival trace {path} is not a trace: fewer than two valid timestamps")
    return gaps


@dataclass(frozen=True)
class Exponential(Law):
    """Poisson inter-arrival gaps with mean ``mean``."""

    mean: float

    def cdf(self, x):
        x = np.asarray(x, dtype=np.float64)
        return np.where(x > 0, -np.expm1(-np.maximum(x, 0.0) / self.mean), 0.0)


@dataclass(frozen=True)
class Resampled(Law):
    """Values drawn uniformly (with replacement) from a fixed list: a step CDF with an atom per value."""

    values: tuple[float, ...]

    def _sorted(self) -> np.ndarray:
        return np.sort(np.asarray(self.values, dtype=np.float64))

    def cdf(self, x):
        v = self._sorted()
        return np.searchsorted(v, np.asarray(x, dtype=np.float64), side="right") / v.size

    def cdf_left(self, x):
        v = self._sorted()
        return np.searchsorted(v, np.asarray(x, dtype=np.float64), side="left") / v.size


@dataclass(frozen=True)
class GapSampler:
    """Draws ``n`` inter-arrival gaps (ms): none (all 0), Poisson (exponential gaps) or resampled from a trace."""

    process: str
    mean_ms: float = 0.0
    gaps: np.ndarray | None = None
    scale: float = 1.0

    def __call__(self, rng: np.random.Generator, n: int) -> np.ndarray:
        if self.process == "poisson":
            return rng.exponential(self.mean_ms, n)
        if self.process == "trace":
            return rng.choice(self.gaps, n) * self.scale  # type: ignore[arg-type]
        return np.zeros(n)

    def law(self) -> Law | None:
        """The law the gaps follow (``None`` without arrivals)."""
        if self.process == "poisson":
            return Exponential(self.mean_ms)
        if self.process == "trace":
            return Resampled(tuple((np.asarray(self.gaps) * self.scale).tolist()))
        return None


def gap_sampler(arrival: Arrival) -> GapSampler:
    """The gap sampler of the configured process (reads the reference trace for ``trace``)."""
    if arrival.process == "poisson":
        return GapSampler("poisson", mean_ms=1000.0 / arrival.rate_per_s)  # type: ignore[operator]
    if arrival.process == "trace":
        return GapSampler("trace", gaps=reference_inter_arrivals(arrival.trace), scale=arrival.time_scale)  # type: ignore[arg-type]
    return GapSampler("none")
