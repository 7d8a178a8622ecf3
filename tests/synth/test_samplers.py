"""Every sampler draws from the law its config describes: property tests over random parameters, bounds,
atoms, ties and caps, with the laws computed independently (synth/reference.py) from their CDFs."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agenttrace_pipeline.synth.config import InterTurnDelay, Lognormal
from agenttrace_pipeline.synth.distributions import DelayMixture, make_dist
from agenttrace_pipeline.synth.ks import dkw_threshold, ks_distance
from agenttrace_pipeline.synth.reference import delay_law, int_law_of
from agenttrace_pipeline.synth.targets import median_of

N = 4000
# derandomized: the DKW bound fails a correct sampler with probability 1e-6, so a fixed example set is stable
PROPERTY = settings(max_examples=30, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
finite = st.floats(allow_nan=False, allow_infinity=False)


@st.composite
def bounds(draw, scale: float) -> dict:
    """No bounds, a lower bound, an upper cap, or both — placed around the bulk of a law of this scale."""
    lo = draw(st.one_of(st.none(), st.floats(0.0, 3.0).map(lambda f: round(f * scale, 3))))
    hi = draw(st.one_of(st.none(), st.floats(0.05, 6.0).map(lambda f: round(f * scale, 3) + 1.0)))
    if lo is not None and hi is not None and lo > hi:
        lo, hi = hi, lo
    return {k: v for k, v in (("min", lo), ("max", hi)) if v is not None}


@st.composite
def lognormals(draw) -> dict:
    mu, sigma = draw(st.floats(1.0, 9.0)), draw(st.sampled_from([0.0, 0.05, 0.5, 1.0, 2.0]))
    return {"mu": mu, "sigma": sigma, **draw(bounds(math.exp(mu)))}


@st.composite
def shaped(draw, family: str) -> dict:
    scale = draw(st.floats(5.0, 5000.0))
    params = {"scale": scale} if family == "exponential" else {"shape": draw(st.floats(0.6, 6.0)), "scale": scale}
    return {"family": family, "params": params, **draw(bounds(scale))}


@st.composite
def mixtures(draw) -> dict:
    k = draw(st.integers(1, 3))
    comps = [{"weight": draw(st.floats(0.05, 1.0)), "mu": draw(st.floats(1.0, 8.0)), "sigma": draw(st.floats(0.1, 1.5))}
             for _ in range(k)]
    return {"family": "lognormal_mixture", "components": comps, **draw(bounds(math.exp(comps[0]["mu"])))}


@st.composite
def tables(draw) -> dict:
    """Quantile tables with ties (runs of equal values), often an atom at the lower bound, sometimes a cap."""
    steps = draw(st.lists(st.sampled_from([0, 0, 1, 2, 7, 40, 300]), min_size=1, max_size=60))
    start = draw(st.sampled_from([1.0, 1.0, 5.0, 30.0]))  # >= 1: integer quantities are floored at 1
    atom = draw(st.sampled_from([0, 0, 5, 20, 60]))  # leading copies of the first value: mass at the bound
    q = [start] * atom + (start + np.cumsum([0, *steps])).tolist()
    d = {"family": "empirical", "quantiles": q}
    if draw(st.booleans()):  # the lower bound sits on the first value (with start 1 it does anyway)
        d["min"] = start
    if draw(st.booleans()) and q[-1] > q[0]:
        d["max"] = q[draw(st.integers(1, len(q) - 1))]  # a cap on a table value (often inside a tie)
    return d


FAMILIES = {"lognormal": lognormals(), "gamma": shaped("gamma"), "weibull": shaped("weibull"), "fisk": shaped("fisk"),
            "exponential": shaped("exponential"), "lognormal_mixture": mixtures(), "empirical": tables()}


def _valid(spec: dict) -> Lognormal | None:
    try:
        return Lognormal(**spec)
    except ValueError:  # e.g. a [min, max] holding none of the law's probability: rejected at load
        return None


@pytest.mark.parametrize("family", list(FAMILIES))
@PROPERTY
@given(data=st.data(), bias=st.sampled_from([1.0, 1.0, 0.6, 2.5]), seed=st.integers(0, 2**32))
def test_integer_draws_follow_their_law(family: str, data, bias: float, seed: int):
    spec = data.draw(FAMILIES[family])
    d = _valid(spec)
    if d is None:
        return
    sampler, law = make_dist(d, bias=bias, floor=1), int_law_of(d, bias=bias)
    x = sampler.sample_int(np.random.default_rng(seed), N)
    assert x.dtype == np.int64 and x.min() >= 1
    if d.max is not None:
        assert x.max() <= max(math.floor(d.max), 1)
    if d.min is not None:
        assert x.min() >= math.floor(d.min)
    assert ks_distance(x, law) <= dkw_threshold(N), (spec, bias)
    med = float(np.median(x))  # the law's median is where the sample's median lands
    assert law.cdf_left(np.array([med]))[0] <= 0.5 + dkw_threshold(N) and law.cdf(np.array([med]))[0] >= 0.5 - dkw_threshold(N)
    assert abs(median_of(law) - med) <= max(1.0, 0.2 * med) or 0.45 <= law.cdf(np.array([med]))[0] <= 0.55


@PROPERTY
@given(agentic=lognormals(), human=st.one_of(lognormals(), tables()), fraction=st.floats(0.0, 1.0),
       cap=st.one_of(st.none(), st.floats(1.0, 1e5)), seed=st.integers(0, 2**32))
def test_delay_mixture_with_cap_follows_its_law(agentic: dict, human: dict, fraction: float, cap, seed: int):
    a, h = _valid(agentic), _valid(human)
    if a is None or h is None:
        return
    cfg = InterTurnDelay(agentic_fraction=fraction, agentic_delay=a, human_delay=h, max=cap)
    x = DelayMixture.of(cfg).sample(np.random.default_rng(seed), N)
    if cap is not None:
        assert x.max() <= cap
    assert ks_distance(x, delay_law(cfg)) <= dkw_threshold(N)


def test_mass_at_the_lower_bound_is_kept():
    """The defect of issue 8: 21 % of a table at 1 token came out as 0.3 %, the median moved 224 → 323."""
    p = np.linspace(0, 1, 201)
    q = np.where(p <= 0.21, 1.0, np.interp(p, [0.21, 0.5, 1.0], [1.0, 224.5, 600.0]))
    d = Lognormal(family="empirical", quantiles=q.tolist(), min=1)
    x = make_dist(d, floor=1).sample_int(np.random.default_rng(7), 200_000)
    assert abs((x == 1).mean() - 0.21) < 0.005
    assert median_of(int_law_of(d)) == 224 and abs(np.median(x) - 224) <= 2  # the defect gave 323
