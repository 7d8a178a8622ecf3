"""Families, mixture, censoring, selection and goodness of fit on data whose truth is known."""

from __future__ import annotations

import numpy as np
import pytest

from agenttrace_pipeline.fitting.families import fit_family
from agenttrace_pipeline.fitting.mixture import fit_lognormal_mixture
from agenttrace_pipeline.fitting.select import empirical_cdf, fit_quantity, ks_statistic

rng = np.random.default_rng(7)


@pytest.mark.parametrize(("family", "sample", "truth"), [
    ("lognormal", lambda n: rng.lognormal(6.0, 0.8, n), {"sigma": 0.8, "scale": np.exp(6.0)}),
    ("gamma", lambda n: rng.gamma(2.5, 400.0, n), {"shape": 2.5, "scale": 400.0}),
    ("weibull", lambda n: 900.0 * rng.weibull(1.7, n), {"shape": 1.7, "scale": 900.0}),
])
def test_the_true_family_wins_and_its_parameters_are_recovered(family, sample, truth):
    qf = fit_quantity("x", sample(6000), discrete=False, families=("lognormal", "gamma", "weibull", "fisk"))
    assert qf.chosen.family == family and qf.chosen.ks < 0.03
    for k, v in truth.items():
        lo, hi = qf.chosen.ci[k]
        assert lo <= v <= hi and qf.chosen.params[k] == pytest.approx(v, rel=0.08)
    assert qf.baseline.family == "lognormal" and "AIPerf's method" in qf.baseline.note


def test_em_separates_agentic_and_human_gaps():
    x = np.concatenate([rng.lognormal(np.log(300), 0.5, 7000), rng.lognormal(np.log(20000), 0.7, 3000)])
    fit = fit_lognormal_mixture(x)
    assert fit.params["weight_0"] == pytest.approx(0.7, abs=0.02)
    assert np.exp(fit.params["mu_0"]) == pytest.approx(300, rel=0.05) and np.exp(fit.params["mu_1"]) == pytest.approx(20000, rel=0.05)
    qf = fit_quantity("gap", x, discrete=False, mixture=True)
    assert qf.chosen.family == "lognormal_mixture"


def test_values_at_a_cap_are_treated_as_censored():
    x = rng.lognormal(np.log(800), 0.9, 8000)
    capped = np.minimum(x, 1500.0)  # e.g. max_tokens = 1500: 24 % of completions stop there
    naive = fit_family("lognormal", capped)
    censored = fit_family("lognormal", capped, cap=1500.0)
    assert censored.censored == int((x >= 1500).sum())
    assert abs(censored.params["sigma"] - 0.9) < abs(naive.params["sigma"] - 0.9)
    assert censored.params["sigma"] == pytest.approx(0.9, rel=0.05)
    qf = fit_quantity("out", np.floor(capped))
    assert any("right-censored at 1500" in n for n in qf.notes)


def test_no_parametric_family_fits_a_lumpy_distribution_so_the_table_is_chosen():
    x = np.concatenate([np.full(3000, 40.0), rng.integers(100, 120, 3000), rng.lognormal(9, 0.3, 2000)]).astype(float)
    qf = fit_quantity("new", x)
    assert qf.chosen.family == "empirical" and qf.chosen.ks < 0.02 and "no parametric family" in qf.chosen.note
    assert len(qf.quantiles) == 201 and qf.baseline.ks > 0.1


def test_the_table_cdf_has_atoms_and_ks_respects_integer_data():
    cdf = empirical_cdf([1, 1, 1, 5, 9])
    assert cdf(np.array([0.5, 1.0, 3.0, 9.0]))[[0, 1, 3]].tolist() == [0.0, 0.5, 1.0]
    assert 0.5 < cdf(np.array([3.0]))[0] < 0.75
    ints = np.floor(rng.lognormal(3, 1, 5000))
    from scipy import stats

    lognorm = stats.lognorm(1, scale=np.exp(3)).cdf
    assert ks_statistic(ints, lognorm, discrete=True) < 0.03 < ks_statistic(ints, lognorm, discrete=False)


def test_a_handful_of_values_gets_a_table_marked_low_confidence():
    qf = fit_quantity("turns", np.array([7.0, 12.0, 30.0]))
    assert qf.confidence == "low" and [f.family for f in qf.fits] == ["empirical"] and qf.chosen.family == "empirical"
    assert qf.chosen.note == "low confidence: 3 values (< 20), quantile table only"
    assert qf.quantiles[0] == 7.0 and qf.quantiles[-1] == 30.0
    with pytest.raises(ValueError, match="turns: no values to fit"):
        fit_quantity("turns", np.array([]))
