"""What a config asks for: the law of every generated quantity, and its mean and median from that law.

Means integrate the survival function of the law (``E[V] = ∫ P(V > x) dx``; for integer quantities an
exact sum over the first 65,536 values, then a fine quadrature), medians bisect its CDF. Nothing here
samples, so a sampler that drifts from its configured distribution cannot drag its target along.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from agenttrace_pipeline.synth.config import SessionDistributionConfig
from agenttrace_pipeline.synth.reference import (
    IntLaw,
    Law,
    RedrawnLognormal,
    ShiftedCapped,
    delay_law,
    int_law_of,
)

_TAIL = 1e-13  # survival below this counts as the end of the support
_FAR = 1e15  # no configured quantity is meaningful beyond this; a tail still heavy there has no usable mean
_EXACT_TERMS = 1 << 16  # integer means: exact sum over this many values, then a fine quadrature
_GRID = 20_001


def _survival(law: Law, x: np.ndarray) -> np.ndarray:
    return 1.0 - law.cdf(x)


def support_top(law: Law) -> float | None:
    """A point beyond which the law has less than 1e-13 of its mass (``None``: a tail heavier than any use)."""
    x = 1.0
    while x <= _FAR:
        if _survival(law, np.array([x]))[0] < _TAIL:
            return x
        x *= 2.0
    return None


def _quadrature(law: Law, start: float, stop: float) -> float:
    """``∫ P(V > x) dx`` over ``[start, stop]`` by the trapezoid rule on a geometric grid (linear near 0)."""
    if start <= 0.0:
        knee = stop * 1e-6
        x = np.concatenate([np.linspace(0.0, knee, 1_001), np.geomspace(knee, stop, _GRID)[1:]])
    else:
        x = np.geomspace(start, stop, _GRID)
    s = _survival(law, x)
    return float(np.sum((s[1:] + s[:-1]) * np.diff(x)) / 2.0)


def mean_of(law: Law) -> float | None:
    """``E[V]`` of a non-negative law, or ``None`` when its tail does not vanish within reach (no usable mean)."""
    top = support_top(law)
    if top is None:
        return None
    total, start = 0.0, 0.0
    if law.integer:  # E[V] = sum_{k >= 0} P(V > k): exact over the first values, where the steps matter
        end = int(min(top + 1, _EXACT_TERMS))
        total = float(_survival(law, np.arange(end, dtype=np.float64)).sum())
        start = float(end)
    if top > start:
        total += _quadrature(law, start, top)
    return total


def median_of(law: Law) -> float:
    """The smallest value ``x`` with ``P(V <= x) >= 1/2``."""
    top = support_top(law) or _FAR
    lo, hi = 0.0, float(top)
    if law.integer:
        a, b = 0, int(math.ceil(hi))
        while a < b:
            m = (a + b) // 2
            a, b = (a, m) if law.cdf(np.array([float(m)]))[0] >= 0.5 else (m + 1, b)
        return float(a)
    for _ in range(200):
        mid = (lo + hi) / 2.0
        if law.cdf(np.array([mid]))[0] >= 0.5:
            hi = mid
        else:
            lo = mid
        if hi - lo <= 1e-9 * max(hi, 1.0):
            break
    return hi


def target(law: Law) -> tuple[float | None, float]:
    """(mean, median) of a law."""
    return mean_of(law), median_of(law)


@dataclass(frozen=True)
class Laws:
    """The law of every quantity a config shapes (``turns`` only in explicit turn-count mode)."""

    layer2: IntLaw
    initial_context: ShiftedCapped
    new_tokens: IntLaw  # as configured
    new_tokens_drawn: IntLaw  # what the sampler is asked to draw (the calibrated lognormal where calibration is on)
    generation_length: IntLaw
    inter_turn_delay: Law
    turns: IntLaw | None

    @classmethod
    def of(cls, cfg: SessionDistributionConfig, calibrated: RedrawnLognormal | None = None) -> Laws:
        nt = cfg.new_tokens_per_turn
        layer2 = int_law_of(cfg.cache.layer2)
        new = int_law_of(nt, bias=nt.bias)
        return cls(
            layer2=layer2,
            initial_context=ShiftedCapped(layer2, cfg.prefix_tokens, cfg.max_prompt_tokens - 1),
            new_tokens=new,
            new_tokens_drawn=IntLaw(calibrated, 1) if calibrated is not None else new,
            generation_length=int_law_of(cfg.generation_length),
            inter_turn_delay=delay_law(cfg.inter_turn_delay),
            turns=int_law_of(cfg.turns) if cfg.turns is not None else None,
        )

    def quality_targets(self) -> dict[str, tuple[float | None, float] | None]:
        """Targets of the quality report: the configured distributions after bounds, floors and the context cap."""
        return {
            "initial_context": target(self.initial_context),
            "generation_length": target(self.generation_length),
            "new_tokens_per_turn": target(self.new_tokens),
            "inter_turn_delay_ms": target(self.inter_turn_delay),
            "turns_per_session": target(self.turns) if self.turns is not None else None,
        }
