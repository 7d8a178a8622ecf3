"""Samplers of the configured distributions.

Lognormals follow AIPerf: a draw outside ``[min, max]`` is redrawn, up to 100 rounds, then clamped; other
families are drawn from the distribution conditioned on ``[min, max]``; integer quantities are floored.
What these samplers should produce is written down independently in ``reference.py`` (the laws that
quality targets and the KS check use), so a defect here shows up as a failed check.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from agenttrace_pipeline.synth.config import InterTurnDelay, Lognormal

REDRAW_ROUNDS = 100
INT_CEILING = float(1 << 62)  # integer draws stay int64 even from a tail no configured quantity reaches


@dataclass(frozen=True, slots=True)
class Bounded:
    """A lognormal in log space, bounded by redraw-then-clamp."""

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
        return np.clip(np.floor(self.sample(rng, n)), minimum, INT_CEILING).astype(np.int64)

    def describe(self) -> dict:
        return {"family": "lognormal", "mu": self.mu, "sigma": self.sigma, "min": self.lo,
                "max": None if math.isinf(self.hi) else self.hi}


def _table_cdf(q: np.ndarray, x: float, left: bool) -> float:
    """CDF of a quantile table at ``x``: the top of a run of tied values, or its bottom (``left``)."""
    i = int(np.searchsorted(q, x, side="left" if left else "right"))
    if i == 0:
        return 0.0
    if i >= q.size:
        return 1.0
    p = np.linspace(0.0, 1.0, q.size)
    return float(p[i - 1] + (x - q[i - 1]) / (q[i] - q[i - 1]) * (p[i] - p[i - 1]))


class Fitted:
    """A non-lognormal family from a fitted profile, drawn from the distribution conditioned on ``[lo, hi]``.

    * ``empirical`` (a quantile table) and the scipy families: inverse CDF of ``U ~ Uniform(F(lo-), F(hi))``.
      ``F(lo-)`` is the mass strictly below ``lo``, so an atom *at* ``lo`` (tied quantiles, e.g. 21 % of a
      table at 1 token) is kept;
    * ``lognormal_mixture``: the component is chosen with weights ``w_k * P_k([lo, hi])`` and drawn from
      its own truncated lognormal, which is exactly the truncated mixture.

    scipy is imported only here (scipy.stats costs ~1.5 s), i.e. only for profiles that use these families.
    """

    def __init__(self, d: Lognormal, bias: float = 1.0, floor: float = 0.0) -> None:
        self.family = d.family
        self.lo = max(d.min if d.min is not None else 0.0, floor)
        self.hi = d.max if d.max is not None else math.inf
        self.bias = bias
        if d.family == "empirical":
            self._q = np.asarray(d.quantiles, dtype=float) * bias
            self._p = np.linspace(0.0, 1.0, self._q.size)
            self._a = _table_cdf(self._q, self.lo, left=True)
            self._b = _table_cdf(self._q, self.hi, left=False) if math.isfinite(self.hi) else 1.0
        elif d.family == "lognormal_mixture":
            from scipy.special import ndtr

            comps = d.components or []
            self._mu = np.array([c.mu + math.log(bias) for c in comps])
            self._sigma = np.array([c.sigma for c in comps])
            with np.errstate(divide="ignore"):
                self._z_lo = (np.log(self.lo) - self._mu) / self._sigma if self.lo > 0 else np.full(len(comps), -np.inf)
            self._z_hi = (np.log(self.hi) - self._mu) / self._sigma if math.isfinite(self.hi) else np.full(len(comps), np.inf)
            mass = np.array([c.weight for c in comps]) * (ndtr(self._z_hi) - ndtr(self._z_lo))
            self._weights = mass / mass.sum() if mass.sum() > 0 else np.full(len(comps), 1.0 / len(comps))
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
            self._a = float(self._dist.cdf(self.lo)) if self.lo > 0 else 0.0
            self._b = float(self._dist.cdf(self.hi)) if math.isfinite(self.hi) else 1.0

    @property
    def constant(self) -> bool:
        return False

    def _mixture(self, rng: np.random.Generator, n: int) -> np.ndarray:
        from scipy.special import ndtr, ndtri

        k = rng.choice(self._mu.size, size=n, p=self._weights)
        z_lo, z_hi = self._z_lo[k], self._z_hi[k]
        u = rng.random(n)
        # Upper-tail ranges are inverted through the survival side, where doubles keep their precision.
        upper = z_lo > 0
        z = np.where(upper, -ndtri(ndtr(-z_hi) + u * (ndtr(-z_lo) - ndtr(-z_hi))),
                     ndtri(ndtr(z_lo) + u * (ndtr(z_hi) - ndtr(z_lo))))
        return np.exp(self._mu[k] + self._sigma[k] * np.clip(z, z_lo, z_hi))

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        if self.family == "lognormal_mixture":
            x = self._mixture(rng, n)
        elif self._b <= self._a:  # no probability in range (configs are checked for this): the nearer bound
            x = np.full(n, self.lo if self._a >= 1.0 else self.hi)
        else:
            u = rng.uniform(self._a, self._b, n)
            x = np.interp(u, self._p, self._q) if self.family == "empirical" else self._dist.ppf(u)
        return np.clip(x, self.lo, self.hi)

    def sample_int(self, rng: np.random.Generator, n: int, minimum: int = 1) -> np.ndarray:
        return np.clip(np.floor(self.sample(rng, n)), minimum, INT_CEILING).astype(np.int64)

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

    def sample_int(self, rng: np.random.Generator, n: int, minimum: int = 0) -> np.ndarray:
        return np.maximum(np.floor(self.sample(rng, n)), minimum).astype(np.int64)

    def describe(self) -> dict:
        return {"agentic_fraction": self.fraction, "agentic_delay": self.agentic.describe(),
                "human_delay": self.human.describe(), "max": None if math.isinf(self.cap) else self.cap}


def zipf_groups(rng: np.random.Generator, n: int, num_groups: int, alpha: float) -> np.ndarray:
    """Group ids 0..num_groups-1 with weight 1/k^alpha for k = 1..num_groups."""
    if num_groups == 1:
        return np.zeros(n, dtype=np.int64)
    w = 1.0 / np.arange(1, num_groups + 1) ** alpha
    return rng.choice(num_groups, size=n, p=w / w.sum())
