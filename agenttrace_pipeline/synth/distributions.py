"""Sampling the configured distributions, and their analytic targets (mean and median after bounds).

Sampling follows AIPerf: a lognormal draw outside ``[min, max]`` is redrawn, up to 100 rounds, then
clamped; integer quantities are floored. Targets are what that procedure yields in expectation, so
quality reports compare like with like (bounds and caps included).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

from agenttrace_pipeline.synth.config import InterTurnDelay, Lognormal

REDRAW_ROUNDS = 100
_GRID = (np.arange(200_000) + 0.5) / 200_000  # quantile grid for expectations


@dataclass(frozen=True, slots=True)
class Bounded:
    """A lognormal in log space with bounds: the sampler and target calculator share this."""

    mu: float
    sigma: float
    lo: float
    hi: float

    @classmethod
    def of(cls, d: Lognormal, bias: float = 1.0, floor: float = 0.0) -> Bounded:
        lo = max(d.min if d.min is not None else 0.0, floor)
        hi = d.max if d.max is not None else math.inf
        return cls(d.log_mu + math.log(bias), d.log_sigma, lo, hi)

    @property
    def constant(self) -> bool:
        return self.sigma == 0.0

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        if self.constant:
            return np.full(n, min(max(math.exp(self.mu), self.lo), self.hi))
        x = rng.lognormal(self.mu, self.sigma, n)
        bad = np.flatnonzero((x < self.lo) | (x > self.hi))
        for _ in range(REDRAW_ROUNDS):
            if bad.size == 0:
                break
            x[bad] = rng.lognormal(self.mu, self.sigma, bad.size)
            bad = bad[(x[bad] < self.lo) | (x[bad] > self.hi)]
        if bad.size:
            np.clip(x, self.lo, self.hi, out=x)
        return x

    def sample_int(self, rng: np.random.Generator, n: int, minimum: int = 1) -> np.ndarray:
        return np.maximum(np.floor(self.sample(rng, n)), minimum).astype(np.int64)

    # targets ------------------------------------------------------------------------------------
    def _cdf(self, x: float) -> float:
        if x <= 0:
            return 0.0
        return float(stats.norm.cdf((math.log(x) - self.mu) / self.sigma)) if not math.isinf(x) else 1.0

    def quantiles(self, u: np.ndarray) -> np.ndarray:
        """Quantile function of the bounded (truncated) distribution."""
        if self.constant:
            return np.full(u.shape, min(max(math.exp(self.mu), self.lo), self.hi))
        a, b = self._cdf(self.lo), self._cdf(self.hi)
        if b - a < 1e-12:  # everything is clamped to one bound
            return np.full(u.shape, self.lo if self.hi == math.inf else self.hi)
        z = stats.norm.ppf(a + u * (b - a))
        return np.exp(self.mu + self.sigma * z)


def target_of(values_at_quantiles: np.ndarray) -> tuple[float, float]:
    """(mean, median) of a quantity given its values on the uniform quantile grid."""
    return float(values_at_quantiles.mean()), float(np.median(values_at_quantiles))


def int_target(b: Bounded, minimum: int = 1, transform=None) -> tuple[float, float]:
    """Mean and median of ``max(floor(X), minimum)`` (optionally transformed) for a bounded lognormal X."""
    q = np.maximum(np.floor(b.quantiles(_GRID)), minimum)
    if transform is not None:
        q = transform(q)
    return target_of(q)


@dataclass(frozen=True, slots=True)
class DelayMixture:
    """AIPerf's inter-turn delay: ``agentic_fraction`` of agentic delays, the rest human, optional cap."""

    agentic: Bounded
    human: Bounded
    fraction: float
    cap: float

    @classmethod
    def of(cls, d: InterTurnDelay) -> DelayMixture:
        return cls(Bounded.of(d.agentic_delay), Bounded.of(d.human_delay), d.agentic_fraction,
                   d.max if d.max is not None else math.inf)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        agentic = rng.random(n) < self.fraction
        out = np.empty(n)
        k = int(agentic.sum())
        out[agentic] = self.agentic.sample(rng, k)
        out[~agentic] = self.human.sample(rng, n - k)
        return np.minimum(out, self.cap)

    def target(self) -> tuple[float, float]:
        qa = np.minimum(self.agentic.quantiles(_GRID), self.cap)
        qh = np.minimum(self.human.quantiles(_GRID), self.cap)
        mean = self.fraction * qa.mean() + (1 - self.fraction) * qh.mean()

        def cdf(x: float) -> float:
            return self.fraction * np.mean(qa <= x) + (1 - self.fraction) * np.mean(qh <= x) - 0.5

        lo, hi = float(min(qa.min(), qh.min())), float(max(qa.max(), qh.max()))
        median = optimize.brentq(cdf, lo, hi, xtol=1e-6) if cdf(lo) < 0 < cdf(hi) else lo
        return float(mean), float(median)


def zipf_groups(rng: np.random.Generator, n: int, num_groups: int, alpha: float) -> np.ndarray:
    """Group ids 0..num_groups-1 with weight 1/k^alpha for k = 1..num_groups."""
    if num_groups == 1:
        return np.zeros(n, dtype=np.int64)
    w = 1.0 / np.arange(1, num_groups + 1) ** alpha
    return rng.choice(num_groups, size=n, p=w / w.sum())
