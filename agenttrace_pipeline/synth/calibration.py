"""Calibrate new-token sampling so accepted turns show the configured mean and median.

In reset-driven mode the candidate that overflows the context limit is dropped, and the reset
probability grows with the candidate's size, so accepted turns under-represent large draws (AIPerf's
observed new-token mean is 3.4 % low). We run a pilot (fixed seed derived from the config, so every seed
partition uses the same sampler) and adjust the lognormal's ``mu`` (to move the median) and ``sigma``
(to move the mean/median ratio) until the pilot's accepted turns match the targets.
"""

from __future__ import annotations

import math

import numpy as np

from agenttrace_pipeline.synth.config import SessionDistributionConfig
from agenttrace_pipeline.synth.distributions import Bounded
from agenttrace_pipeline.synth.reference import int_law_of
from agenttrace_pipeline.synth.targets import target

PILOT_SESSIONS = 20_000
ITERATIONS = 30
TOLERANCE = 0.003
SIGMA_GAIN = 2.0  # truncation damps how the mean/median ratio answers sigma: over-relax its step


def _pilot(cfg: SessionDistributionConfig, sampler: Bounded, seed: int) -> np.ndarray:
    from agenttrace_pipeline.synth.engine import Samplers, initial_contexts, simulate_reset_driven

    s = Samplers.of(cfg, sampler)
    rng = np.random.default_rng(seed)
    group, c0 = initial_contexts(cfg, s, rng, PILOT_SESSIONS)
    b = simulate_reset_driven(cfg, s, rng, c0, group)
    later = np.ones(b.new.size, bool)
    later[b.row_start[:-1]] = False
    return b.new[later]


def calibrated_new_tokens(cfg: SessionDistributionConfig) -> Bounded | None:
    """The adjusted new-token sampler, or ``None`` when no adjustment is needed (constant values)."""
    nt = cfg.new_tokens_per_turn
    if nt.family != "lognormal":  # fitted families reproduce their data as they are: nothing to adjust
        return None
    base = Bounded.of(nt, bias=nt.bias, floor=1)
    if base.constant:
        return None
    t_mean, t_median = target(int_law_of(nt, bias=nt.bias))
    if t_mean is None:
        return None
    seed = int(cfg.digest()[:15], 16)
    mu, sigma = base.mu, base.sigma
    best, best_err = None, math.inf
    for _ in range(ITERATIONS):
        trial = Bounded(mu, sigma, base.lo, base.hi)
        obs = _pilot(cfg, trial, seed)
        if obs.size == 0:
            return None
        o_mean, o_median = float(obs.mean()), float(np.median(obs))
        err = max(abs(o_mean / t_mean - 1), abs(o_median / t_median - 1))
        if err < best_err:
            best, best_err = trial, err
        if err < TOLERANCE:
            break
        mu += math.log(t_median / o_median)
        gap = math.log(t_mean / t_median) - math.log(o_mean / o_median)
        sigma = math.sqrt(max(sigma * sigma + SIGMA_GAIN * 2 * gap, 1e-6))
    return best
