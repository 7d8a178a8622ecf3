"""Held-out KS beside the noise floor, and fits that do not generalise giving way to the table."""

from __future__ import annotations

import math

import numpy as np
import pytest

from agenttrace_pipeline.fitting.families import Fit
from agenttrace_pipeline.fitting.holdout import HELDOUT_MARGIN, ks_target, prefer_generalising, score_heldout
from agenttrace_pipeline.fitting.select import QuantityFit, fit_quantity

rng = np.random.default_rng(11)


def test_a_right_model_scores_on_held_out_values_within_the_noise_floor():
    x = np.floor(rng.lognormal(5, 0.7, 3000)) + 1
    qf = score_heldout(fit_quantity("q", x), x[:2100], x[2100:])
    assert qf.chosen.family == "lognormal" and qf.n_train == 2100 and qf.n_heldout == 900
    assert qf.noise_floor is not None and qf.chosen.ks_heldout <= qf.noise_floor + HELDOUT_MARGIN
    table = next(f for f in qf.fits if f.family == "empirical")
    assert table.ks < 0.01 < table.ks_heldout  # the table matches its own data; not new data
    assert len(table.params_train["quantiles"]) == 201 and qf.baseline.params_train


def test_held_out_values_from_elsewhere_are_seen():
    x = np.floor(rng.lognormal(5, 0.7, 2000)) + 1
    qf = score_heldout(fit_quantity("q", x), x, np.floor(rng.lognormal(6, 0.7, 800)) + 1)
    assert qf.chosen.ks_heldout > 0.3 and qf.noise_floor > 0.3


def _qf(ks_heldout: float, floor: float) -> QuantityFit:
    family = Fit("lognormal", {"sigma": 1.0, "scale": 100.0}, 500, -10.0, 2, ks=0.01, ks_heldout=ks_heldout)
    table = Fit("empirical", {"points": 201.0}, 500, math.nan, 201, ks=0.0, ks_heldout=floor)
    baseline = Fit("lognormal", {"sigma": 1.0, "scale": 90.0}, 500, math.nan, 2)
    return QuantityFit("q", 500, True, [family, table], family, [1.0, 2.0], baseline, noise_floor=floor)


def test_a_family_that_fits_only_its_own_traces_gives_way_to_the_table():
    qf = prefer_generalising(_qf(ks_heldout=0.20, floor=0.06))
    assert qf.chosen.family == "empirical" and "not held-out traces (KS 0.200 > noise floor 0.060" in qf.chosen.note
    kept = prefer_generalising(_qf(ks_heldout=0.08, floor=0.06))
    assert kept.chosen.family == "lognormal"


def test_few_values_raise_the_ks_target_to_its_critical_value():
    assert ks_target(0.05, 5000) == 0.05 and ks_target(0.08, 99, 5000) == pytest.approx(0.137, abs=0.001)
    assert 0.55 < ks_target(0.05, 5) < 0.65  # 1.36 / sqrt(5): five values cannot show a KS of 0.05
