"""Observed-vs-target statistics of a generated dataset, accumulated batch by batch.

Count, mean and std are exact over every value; percentiles are exact up to ``SAMPLE_CAP`` values and
otherwise come from a uniform random sample of that many values (bottom-k of random keys), so memory stays
bounded for million-session runs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

SAMPLE_CAP = 500_000
PCTS = (5, 25, 50, 75, 95, 99)


class Metric:
    def __init__(self, rng: np.random.Generator, cap: int = SAMPLE_CAP) -> None:
        self._rng = rng
        self._cap = cap
        self.count = 0
        self._sum = 0.0
        self._sumsq = 0.0
        self._values = np.zeros(0)
        self._keys = np.zeros(0)
        self.sampled = False

    def add(self, values: np.ndarray) -> None:
        v = np.asarray(values, dtype=np.float64)
        v = v[~np.isnan(v)]
        if not v.size:
            return
        self.count += v.size
        self._sum += float(v.sum())
        self._sumsq += float(np.square(v).sum())
        keys = self._rng.random(v.size)
        vals = np.concatenate([self._values, v])
        ks = np.concatenate([self._keys, keys])
        if vals.size > self._cap:
            keep = np.argpartition(ks, self._cap)[: self._cap]
            vals, ks = vals[keep], ks[keep]
            self.sampled = True
        self._values, self._keys = vals, ks

    @property
    def values(self) -> np.ndarray:
        """Every value added, or a uniform sample of ``cap`` of them."""
        return self._values

    def summary(self) -> dict[str, Any]:
        if not self.count:
            return {"count": 0}
        mean = self._sum / self.count
        var = max(self._sumsq / self.count - mean * mean, 0.0)
        p = np.percentile(self._values, PCTS)
        out = {"count": self.count, "mean": mean, "std": var ** 0.5, "median": float(p[2]),
               **{f"p{q:02d}": float(v) for q, v in zip(PCTS, p, strict=True) if q != 50}}
        if self.sampled:
            out["percentiles_from_sample_of"] = self._cap
        return out


def pct_error(observed: float | None, target: float | None) -> float | None:
    if observed is None or target is None or target == 0:
        return None
    return 100.0 * (observed - target) / target


def compare(metric: Metric, target: tuple[float | None, float] | None) -> dict[str, Any]:
    obs = metric.summary()
    t_mean, t_median = target if target is not None else (None, None)
    return {
        "target_mean": t_mean,
        "target_median": t_median,
        "observed": obs,
        "pct_error_mean": pct_error(obs.get("mean"), t_mean),
        "pct_error_median": pct_error(obs.get("median"), t_median),
    }


QUALITY_METRICS = ("initial_context", "generation_length", "new_tokens_per_turn", "inter_turn_delay_ms",
                   "turns_per_session", "final_context_utilization")


class Observed:
    """Observed statistics of the generated rows, batch by batch (see :data:`QUALITY_METRICS`)."""

    def __init__(self, rng: np.random.Generator, n_end_reasons: int) -> None:
        self.metrics = {name: Metric(rng) for name in QUALITY_METRICS}
        self.ends = np.zeros(n_end_reasons, np.int64)

    def add(self, b: Any, max_prompt_tokens: int, primaries: bool) -> None:
        """Add a :class:`~agenttrace_pipeline.synth.batch.Batch` (primaries carry the turn-0 targets)."""
        later = b.later
        if primaries:
            self.metrics["initial_context"].add(b.c0)
        self.metrics["generation_length"].add(b.out)
        self.metrics["new_tokens_per_turn"].add(b.new[later])
        self.metrics["inter_turn_delay_ms"].add(b.delay[later])
        self.metrics["turns_per_session"].add(b.turns)
        self.metrics["final_context_utilization"].add(b.final_input / max_prompt_tokens)
        self.ends += np.bincount(b.end.astype(np.int64), minlength=self.ends.size)
