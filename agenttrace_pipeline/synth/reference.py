"""The configured distributions as laws: CDFs, means and medians computed from their definitions.

Written apart from the samplers (``distributions.py``) on purpose: quality targets and the KS check of
generated values use these laws, so a sampler defect cannot also bend the target it is compared with.
Nothing here draws random numbers; every figure comes from a CDF.

A *law* describes one configured quantity after its bounds: ``cdf(x)`` (right-continuous) and
``cdf_left(x)`` (the left limit, which differs at atoms: clamped bounds, tied quantiles, integer
values). The bounds follow the config's documented semantics:

* lognormal: a draw outside ``[min, max]`` is redrawn up to 100 times, then clamped, so the law is the
  truncated lognormal plus, with probability ``(1 - P(in range))**101``, an atom at the bound the last
  draw fell beyond;
* every other family: the distribution conditioned on ``[min, max]`` (closed: an atom at a bound stays);
* integer quantities are ``max(floor(X), minimum)``.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from agenttrace_pipeline.synth.config import InterTurnDelay, Lognormal

REDRAW_ROUNDS = 100  # the documented redraw budget of a bounded lognormal (AIPerf's)
_erfc = np.frompyfunc(math.erfc, 1, 1)  # scipy.special would add ~0.7 s to every generator start


def _phi(z: npt.ArrayLike) -> np.ndarray:
    """Standard-normal CDF, accurate in both tails."""
    return np.asarray(_erfc(-np.asarray(z, dtype=np.float64) / math.sqrt(2.0)), dtype=np.float64) / 2.0


def _mass(z_a: float, z_b: npt.ArrayLike) -> np.ndarray:
    """``Phi(z_b) - Phi(z_a)`` for ``z_a <= z_b``, computed on the side of ``z_a`` that keeps its precision."""
    if z_a > 0:
        return float(_phi(-z_a)) - _phi(-np.asarray(z_b, dtype=np.float64))
    return _phi(z_b) - float(_phi(z_a))


def _log_z(x: np.ndarray, mu: float, sigma: float) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.where(x > 0, (np.log(np.maximum(x, 1e-300)) - mu) / sigma, -np.inf)


class Law(ABC):
    """A distribution on ``[0, inf)`` given by its CDF."""

    integer = False

    @abstractmethod
    def cdf(self, x: np.ndarray) -> np.ndarray:
        """P(X <= x)."""

    def cdf_left(self, x: np.ndarray) -> np.ndarray:
        return self.cdf(x)

    def cdf_both(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(cdf(x), cdf_left(x))``; laws override it where the two share most of their work."""
        return self.cdf(x), self.cdf_left(x)


class _Truncated(Law):
    """An untruncated base CDF conditioned on ``[lo, hi]``; subclasses give ``_base`` and ``_base_left``."""

    lo: float
    hi: float

    @abstractmethod
    def _base(self, x: np.ndarray) -> np.ndarray:
        """The untruncated CDF."""

    def _base_left(self, x: np.ndarray) -> np.ndarray:
        return self._base(x)

    def _bounds(self) -> tuple[float, float]:
        a = float(self._base_left(np.array([self.lo]))[0]) if self.lo > 0 else 0.0
        b = float(self._base(np.array([self.hi]))[0]) if math.isfinite(self.hi) else 1.0
        return a, b

    def mass_in_range(self) -> float:
        """Probability the untruncated distribution gives ``[lo, hi]``."""
        a, b = self._bounds()
        return max(b - a, 0.0)

    def _scaled(self, f: np.ndarray) -> np.ndarray:
        a, b = self._bounds()
        if b <= a:  # no probability in range: the sampler puts everything at the bound the mass lies beyond
            return np.full(np.shape(f), 1.0 if a >= 1.0 else 0.0)
        return np.clip((f - a) / (b - a), 0.0, 1.0)

    def cdf(self, x):
        x = np.asarray(x, dtype=np.float64)
        return np.where(x < self.lo, 0.0, np.where(x >= self.hi, 1.0, self._scaled(self._base(x))))

    def cdf_left(self, x):
        x = np.asarray(x, dtype=np.float64)
        return np.where(x <= self.lo, 0.0, np.where(x > self.hi, 1.0, self._scaled(self._base_left(x))))


@dataclass(frozen=True)
class RedrawnLognormal(Law):
    """A lognormal ``(mu, sigma)`` bounded by redraw-then-clamp (see module docstring)."""

    mu: float
    sigma: float
    lo: float
    hi: float

    def _parts(self) -> tuple[float, float, float, float]:
        """(P(in range), P(below lo), P(above hi), P(all draws missed))."""
        z_lo = _log_z(np.array([self.lo]), self.mu, self.sigma)[0] if self.lo > 0 else -np.inf
        z_hi = _log_z(np.array([self.hi]), self.mu, self.sigma)[0] if math.isfinite(self.hi) else np.inf
        p_in = float(_mass(z_lo, z_hi))
        below, above = float(_phi(z_lo)), float(_phi(-z_hi))
        return p_in, below, above, (1.0 - p_in) ** (REDRAW_ROUNDS + 1)

    def cdf_both(self, x):
        x = np.asarray(x, dtype=np.float64)
        if self.sigma == 0.0:
            v = min(max(math.exp(self.mu), self.lo), self.hi)
            return (x >= v).astype(float), (x > v).astype(float)
        p_in, below, above, missed = self._parts()
        z_lo = float(_log_z(np.array([self.lo]), self.mu, self.sigma)[0]) if self.lo > 0 else -np.inf
        inside = np.clip(_mass(z_lo, np.maximum(_log_z(x, self.mu, self.sigma), z_lo)) / p_in, 0, 1) if p_in > 0 else 0.0
        inside = (1 - missed) * inside * (x >= self.lo)
        out = below + above
        pair = []
        for at_lo, at_hi in (((x >= self.lo), (x >= self.hi)), ((x > self.lo), (x > self.hi))):
            clamped = (below / out * at_lo + above / out * at_hi) if out > 0 else 0.0
            pair.append(np.where(at_hi, 1.0, np.clip(inside + missed * clamped, 0.0, 1.0)))
        return pair[0], pair[1]

    def cdf(self, x):
        return self.cdf_both(x)[0]

    def cdf_left(self, x):
        return self.cdf_both(x)[1]


@dataclass(frozen=True)
class TruncatedMixture(_Truncated):
    """Lognormal mixture ``sum w_k LN(mu_k, sigma_k)`` conditioned on ``[lo, hi]``."""

    weights: tuple[float, ...]
    mus: tuple[float, ...]
    sigmas: tuple[float, ...]
    lo: float
    hi: float

    def _base(self, x):
        x = np.asarray(x, dtype=np.float64)
        total = sum(self.weights)
        return sum(w / total * _phi(_log_z(x, m, s)) for w, m, s in zip(self.weights, self.mus, self.sigmas, strict=True))


@dataclass
class TruncatedScipy(_Truncated):
    """A continuous scipy.stats family (gamma, weibull, fisk, exponential) conditioned on ``[lo, hi]``."""

    family: str
    shape: float
    scale: float
    lo: float
    hi: float

    def __post_init__(self) -> None:
        from scipy import stats

        if self.family == "exponential":
            self._dist = stats.expon(scale=self.scale)
        else:
            family = {"gamma": stats.gamma, "weibull": stats.weibull_min, "fisk": stats.fisk}[self.family]
            self._dist = family(self.shape, scale=self.scale)

    def _base(self, x):
        return self._dist.cdf(np.asarray(x, dtype=np.float64))


@dataclass(frozen=True)
class TruncatedTable(_Truncated):
    """A quantile table (values at evenly spaced probabilities 0 … 1, linear between) conditioned on
    ``[lo, hi]``. Tied values are atoms: ``cdf`` is the top of a tie, ``cdf_left`` its bottom."""

    values: tuple[float, ...]
    lo: float
    hi: float

    def _table(self, x: np.ndarray, side: Literal["left", "right"]) -> np.ndarray:
        q = np.asarray(self.values, dtype=np.float64)
        p = np.linspace(0.0, 1.0, q.size)
        x = np.asarray(x, dtype=np.float64)
        i = np.searchsorted(q, x, side=side)  # right: count of q <= x; left: count of q < x
        j = np.clip(i, 1, q.size - 1)
        q0, q1 = q[j - 1], q[j]
        with np.errstate(invalid="ignore", divide="ignore"):
            frac = np.where(q1 > q0, (x - q0) / (q1 - q0), 1.0)
        inner = p[j - 1] + np.clip(frac, 0.0, 1.0) * (p[j] - p[j - 1])
        return np.where(i == 0, 0.0, np.where(i >= q.size, 1.0, inner))

    def _base(self, x):
        return self._table(x, "right")

    def _base_left(self, x):
        return self._table(x, "left")


@dataclass(frozen=True)
class IntLaw(Law):
    """``max(floor(X), minimum)`` for a continuous-valued law ``X``."""

    base: Law
    minimum: int = 1
    integer = True

    def cdf(self, x):
        k = np.floor(np.asarray(x, dtype=np.float64))
        return np.where(k < self.minimum, 0.0, self.base.cdf_left(k + 1))

    def cdf_left(self, x):
        return self.cdf(np.ceil(np.asarray(x, dtype=np.float64)) - 1)


@dataclass(frozen=True)
class ShiftedCapped(Law):
    """``min(shift + V, cap)``: the turn-0 context ``min(prefix + L2, max_prompt_tokens - 1)``."""

    base: Law
    shift: float
    cap: float

    @property
    def integer(self) -> bool:  # type: ignore[override]
        return self.base.integer

    def cdf(self, x):
        x = np.asarray(x, dtype=np.float64)
        return np.where(x >= self.cap, 1.0, self.base.cdf(x - self.shift))

    def cdf_left(self, x):
        x = np.asarray(x, dtype=np.float64)
        return np.where(x > self.cap, 1.0, self.base.cdf_left(x - self.shift))


@dataclass(frozen=True)
class CappedMixture(Law):
    """``min(agentic if U < fraction else human, cap)``: the inter-turn delay."""

    agentic: Law
    human: Law
    fraction: float
    cap: float

    def cdf(self, x):
        x = np.asarray(x, dtype=np.float64)
        g = self.fraction * self.agentic.cdf(x) + (1 - self.fraction) * self.human.cdf(x)
        return np.where(x >= self.cap, 1.0, g)

    def cdf_left(self, x):
        return self.cdf_both(x)[1]

    def cdf_both(self, x):
        x = np.asarray(x, dtype=np.float64)
        (ar, al), (hr, hl) = self.agentic.cdf_both(x), self.human.cdf_both(x)
        f = self.fraction
        return (np.where(x >= self.cap, 1.0, f * ar + (1 - f) * hr),
                np.where(x > self.cap, 1.0, f * al + (1 - f) * hl))


def law_of(d: Lognormal, bias: float = 1.0, floor: float = 0.0) -> Law:
    """The continuous-valued law of a configured distribution (``bias`` multiplies X before its bounds)."""
    lo = max(d.min if d.min is not None else 0.0, floor)
    hi = d.max if d.max is not None else math.inf
    if d.family == "lognormal":
        return RedrawnLognormal(d.log_mu + math.log(bias), d.log_sigma, lo, hi)
    if d.family == "lognormal_mixture":
        comps = d.components or []
        return TruncatedMixture(tuple(c.weight for c in comps), tuple(c.mu + math.log(bias) for c in comps),
                                tuple(c.sigma for c in comps), lo, hi)
    if d.family == "empirical":
        return TruncatedTable(tuple(float(v) * bias for v in d.quantiles or []), lo, hi)
    p = d.params or {}
    return TruncatedScipy(d.family, p.get("shape", 1.0), p["scale"] * bias, lo, hi)


def int_law_of(d: Lognormal, bias: float = 1.0, minimum: int = 1) -> IntLaw:
    """The law of an integer quantity drawn from ``d``: floored, at least ``minimum`` (and ``min >= minimum``)."""
    return IntLaw(law_of(d, bias, floor=minimum), minimum)


def delay_law(d: InterTurnDelay) -> CappedMixture:
    return CappedMixture(law_of(d.agentic_delay), law_of(d.human_delay), d.agentic_fraction,
                         d.max if d.max is not None else math.inf)

