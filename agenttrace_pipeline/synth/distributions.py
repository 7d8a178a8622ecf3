"""Sampling the configured distributions, and their analytic targets (mean and median after bounds).

Sampling follows AIPerf: a lognormal draw outside ``[min, max]`` is redrawn, up to 100 rounds, then
clamped; integer quantities are floored. Targets are what that procedure yields in expectation, so
quality reports compare like with like (bounds and caps included).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from agenttrace_pipeline.synth.config import InterTurnDelay, Lognormal

REDRAW_ROUNDS = 100
_Z_POINTS = 200_001  # grid over the standard-normal variable for expectations
_Z_MAX = 9.5


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

    def describe(self) -> dict:
        return {"family": "lognormal", "mu": self.mu, "sigma": self.sigma, "min": self.lo,
                "max": None if math.isinf(self.hi) else self.hi}

    # targets ------------------------------------------------------------------------------------
    def grid(self) -> tuple[np.ndarray, np.ndarray]:
        """The bounded distribution on a fine grid: increasing values and their probabilities.

        Redraw-then-clamp is, to within 100 rounds, truncation to ``[lo, hi]``: a lognormal density on
        ``[lo, hi]``, integrated over ``z = (ln x - mu) / sigma`` with normal weights (no scipy needed,
        which keeps the generator's start-up fast).
        """
        if self.constant:
            return np.array([min(max(math.exp(self.mu), self.lo), self.hi)]), np.ones(1)
        z_lo = (math.log(self.lo) - self.mu) / self.sigma if self.lo > 0 else -_Z_MAX
        z_hi = (math.log(self.hi) - self.mu) / self.sigma if math.isfinite(self.hi) else _Z_MAX
        z_lo, z_hi = max(z_lo, -_Z_MAX), min(z_hi, _Z_MAX)
        if z_hi - z_lo < 1e-9:  # (almost) everything is clamped to one bound
            return np.array([self.lo if z_hi <= -_Z_MAX + 1e-9 else self.hi]), np.ones(1)
        z = np.linspace(z_lo, z_hi, _Z_POINTS)
        w = np.exp(-0.5 * z * z)
        w[[0, -1]] *= 0.5  # trapezoid rule
        return np.exp(self.mu + self.sigma * z), w / w.sum()


def target_of(values: np.ndarray, probs: np.ndarray) -> tuple[float, float]:
    """(mean, median) of a discretised distribution with increasing ``values``."""
    median = values[min(int(np.searchsorted(np.cumsum(probs), 0.5)), values.size - 1)]
    return float(values @ probs), float(median)


def int_target(b: Bounded | Fitted, minimum: int = 1, transform=None) -> tuple[float, float]:
    """Mean and median of ``max(floor(X), minimum)`` (optionally transformed) for a bounded lognormal X."""
    values, probs = b.grid()
    v = np.maximum(np.floor(values), minimum)
    if transform is not None:
        v = transform(v)
    return target_of(v, probs)


class Fitted:
    """A non-lognormal family from a fitted profile, truncated to ``[lo, hi]`` by inverse-CDF sampling.

    scipy.stats is imported only here (it costs ~1.5 s), i.e. only for profiles that use these families.
    """

    def __init__(self, d: Lognormal, bias: float = 1.0, floor: float = 0.0) -> None:
        self.family = d.family
        self.lo = max(d.min if d.min is not None else 0.0, floor)
        self.hi = d.max if d.max is not None else math.inf
        self.bias = bias
        self._parts: list[tuple[float, Bounded]] = []
        if d.family == "empirical":
            self._q = np.asarray(d.quantiles, dtype=float) * bias
            self._p = np.linspace(0.0, 1.0, self._q.size)
        elif d.family == "lognormal_mixture":
            total = sum(c.weight for c in d.components or [])
            self._parts = [(c.weight / total, Bounded(c.mu + math.log(bias), c.sigma, self.lo, self.hi))
                           for c in d.components or []]
        else:
            from scipy import stats

            p = d.params or {}
            scale = p["scale"] * bias
            self._dist = {
                "gamma": lambda: stats.gamma(p.get("shape", 1.0), scale=scale),
                "weibull": lambda: stats.weibull_min(p.get("shape", 1.0), scale=scale),
                "fisk": lambda: stats.fisk(p.get("shape", 1.0), scale=scale),
                "exponential": lambda: stats.expon(scale=scale),
            }[d.family]()

    @property
    def constant(self) -> bool:
        return False

    def _cdf(self, x: float) -> float:
        if x <= 0:
            return 0.0
        if math.isinf(x):
            return 1.0
        if self.family == "empirical":
            return float(np.interp(x, self._q, self._p))
        return float(self._dist.cdf(x))

    def _ppf(self, u: np.ndarray) -> np.ndarray:
        if self.family == "empirical":
            return np.interp(u, self._p, self._q)
        return self._dist.ppf(u)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        if self._parts:
            which = rng.choice(len(self._parts), size=n, p=[w for w, _ in self._parts])
            out = np.empty(n)
            for k, (_, part) in enumerate(self._parts):
                sel = which == k
                out[sel] = part.sample(rng, int(sel.sum()))
            return out
        a, b = self._cdf(self.lo), self._cdf(self.hi)
        return np.clip(self._ppf(rng.uniform(a, b, n)), self.lo, self.hi)

    def sample_int(self, rng: np.random.Generator, n: int, minimum: int = 1) -> np.ndarray:
        return np.maximum(np.floor(self.sample(rng, n)), minimum).astype(np.int64)

    def grid(self) -> tuple[np.ndarray, np.ndarray]:
        if self._parts:
            vals, probs = zip(*[(g[0], w * g[1]) for w, part in self._parts for g in [part.grid()]], strict=True)
            v, p = np.concatenate(vals), np.concatenate(probs)
            order = np.argsort(v, kind="stable")
            return v[order], p[order]
        a, b = self._cdf(self.lo), self._cdf(self.hi)
        u = a + (np.arange(_Z_POINTS) + 0.5) / _Z_POINTS * (b - a)
        return np.clip(self._ppf(u), self.lo, self.hi), np.full(_Z_POINTS, 1.0 / _Z_POINTS)

    def describe(self) -> dict:
        return {"family": self.family, "min": self.lo, "max": None if math.isinf(self.hi) else self.hi, "bias": self.bias}


def make_dist(d: Lognormal, bias: float = 1.0, floor: float = 0.0) -> Bounded | Fitted:
    """The sampler for a configured distribution: :class:`Bounded` for lognormal, :class:`Fitted` otherwise."""
    return Bounded.of(d, bias, floor) if d.family == "lognormal" else Fitted(d, bias, floor)


@dataclass(frozen=True, slots=True)
class DelayMixture:
    """AIPerf's inter-turn delay: ``agentic_fraction`` of agentic delays, the rest human, optional cap."""

    agentic: Bounded | Fitted
    human: Bounded | Fitted
    fraction: float
    cap: float

    @classmethod
    def of(cls, d: InterTurnDelay) -> DelayMixture:
        return cls(make_dist(d.agentic_delay), make_dist(d.human_delay), d.agentic_fraction,
                   d.max if d.max is not None else math.inf)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        agentic = rng.random(n) < self.fraction
        out = np.empty(n)
        k = int(agentic.sum())
        out[agentic] = self.agentic.sample(rng, k)
        out[~agentic] = self.human.sample(rng, n - k)
        return np.minimum(out, self.cap)

    def target(self) -> tuple[float, float]:
        va, pa = self.agentic.grid()
        vh, ph = self.human.grid()
        values = np.minimum(np.concatenate([va, vh]), self.cap)
        probs = np.concatenate([self.fraction * pa, (1 - self.fraction) * ph])
        order = np.argsort(values, kind="stable")
        return target_of(values[order], probs[order])


def zipf_groups(rng: np.random.Generator, n: int, num_groups: int, alpha: float) -> np.ndarray:
    """Group ids 0..num_groups-1 with weight 1/k^alpha for k = 1..num_groups."""
    if num_groups == 1:
        return np.zeros(n, dtype=np.int64)
    w = 1.0 / np.arange(1, num_groups + 1) ** alpha
    return rng.choice(num_groups, size=n, p=w / w.sum())
