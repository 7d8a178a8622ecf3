"""Fit every candidate family to one quantity, score them, choose one, and bootstrap its parameters.

Selection: the lowest AIC among the parametric candidates (BIC is reported beside it); when even that
family misses the data by more than ``ks_threshold`` (one-sample Kolmogorov–Smirnov), an empirical
quantile table is chosen instead and the reason recorded. Goodness of fit: KS and Anderson–Darling. For
integer quantities (tokens, turns) the model is compared as ``floor(X)`` — what the generator emits — so
ties in the data do not inflate the statistics.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from agenttrace_pipeline.fitting.families import SCIPY, Fit, detect_cap, fit_family, frozen
from agenttrace_pipeline.fitting.mixture import fit_lognormal_mixture, mixture_cdf

QUANTILE_POINTS = 201
BOOTSTRAP = 40
BOOTSTRAP_MAX_N = 2000
MIN_VALUES = 20  # fewer values than this: a quantile table only, marked low confidence


@dataclass
class QuantityFit:
    quantity: str
    n: int
    discrete: bool
    fits: list[Fit]
    chosen: Fit
    quantiles: list[float]  # the empirical table (values at evenly spaced probabilities)
    baseline: Fit  # AIPerf's method: a lognormal from the sample mean and median
    cap: float | None = None
    notes: list[str] = field(default_factory=list)
    confidence: str = "high"  # "low": fewer than MIN_VALUES values
    n_train: int = 0  # values from training traces / held-out traces (see holdout.py)
    n_heldout: int = 0
    noise_floor: float | None = None  # two-sample KS, training vs held-out values


def model_cdf(fit: Fit, quantiles: list[float] | None = None):
    """x → P(X <= x) of a fit (continuous form)."""
    if fit.family == "lognormal_mixture":
        return lambda x: mixture_cdf(fit.params, np.asarray(x, dtype=float))
    if fit.family == "empirical":
        return empirical_cdf(quantiles)
    fz = frozen(fit.family, fit.params)
    return fz.cdf


def empirical_cdf(quantiles: list[float] | None):
    """CDF of a quantile table as the generator samples it (``interp(u, p, q)``): linear between distinct
    values, with a jump (an atom) wherever several quantiles are equal."""
    q = np.asarray(quantiles, dtype=float)
    p = np.linspace(0.0, 1.0, q.size)
    qu, first = np.unique(q, return_index=True)
    last = np.r_[first[1:] - 1, q.size - 1]
    p_first, p_last = p[first], p[last]

    def cdf(x):
        x = np.asarray(x, dtype=float)
        j = np.searchsorted(qu, x, side="right") - 1
        jc = np.clip(j, 0, qu.size - 2) if qu.size > 1 else np.zeros_like(j)
        if qu.size == 1:
            return np.where(x >= qu[0], 1.0, 0.0)
        span = qu[jc + 1] - qu[jc]
        inside = p_last[jc] + (x - qu[jc]) / span * (p_first[jc + 1] - p_last[jc])
        return np.where(j < 0, 0.0, np.where(j >= qu.size - 1, 1.0, inside))

    return cdf


def ks_statistic(x: np.ndarray, cdf, discrete: bool) -> float:
    """sup |ECDF − F| over the data; for integer data, F is that of ``floor(X)``: P(floor X <= k) = F(k + 1)."""
    v, counts = np.unique(x, return_counts=True)
    ecdf = np.cumsum(counts) / x.size
    ecdf_left = ecdf - counts / x.size
    eps = 1e-9 * np.maximum(np.abs(v), 1.0)
    if discrete:  # P(floor X <= k) = P(X < k + 1): the left limit at k + 1
        f_at, f_left = cdf(v + 1.0 - eps), cdf(v - eps)
    else:
        f_at, f_left = cdf(v), cdf(v - eps)
    return float(max(np.max(np.abs(ecdf - f_at)), np.max(np.abs(ecdf_left - f_left))))


def ad_statistic(x: np.ndarray, cdf, discrete: bool) -> float:
    """Anderson–Darling A² (mid-point CDF for integer data)."""
    s = np.sort(x)
    f = (cdf(s) + cdf(s + 1.0)) / 2 if discrete else cdf(s)
    f = np.clip(f, 1e-12, 1 - 1e-12)
    n = s.size
    i = np.arange(1, n + 1)
    return float(-n - np.mean((2 * i - 1) * (np.log(f) + np.log1p(-f[::-1]))))


def aiperf_baseline(x: np.ndarray) -> Fit:
    """AIPerf's method: mu = ln(median), sigma = sqrt(2 ln(mean / median)) (0 when mean <= median)."""
    mean, median = float(np.mean(x)), float(np.median(x))
    sigma = math.sqrt(2 * math.log(mean / median)) if mean > median > 0 else 1e-6
    return Fit("lognormal", {"sigma": sigma, "scale": median}, int(x.size), math.nan, 2,
               note=f"AIPerf's method (mean {mean:.1f}, median {median:.1f})")


def _score(fit: Fit, x: np.ndarray, discrete: bool, quantiles=None) -> Fit:
    cdf = model_cdf(fit, quantiles)
    fit.ks = ks_statistic(x, cdf, discrete)
    fit.ad = ad_statistic(x, cdf, discrete)
    return fit


def refit(family: str, x: np.ndarray, cap) -> Fit:
    """``family`` (a parametric one or the mixture) fitted to ``x`` again, e.g. on a resample or a subset."""
    return fit_lognormal_mixture(x) if family == "lognormal_mixture" else fit_family(family, x, cap)


def positive(values: np.ndarray, discrete: bool) -> np.ndarray:
    """Finite values raised to 1 (integer quantities) or 0.001 (continuous ones): the families are positive."""
    x = np.maximum(np.asarray(values, dtype=float), 1.0 if discrete else 1e-3)
    return x[np.isfinite(x)]


def table(x: np.ndarray) -> list[float]:
    """The empirical quantile table of ``x``: values at QUANTILE_POINTS evenly spaced probabilities."""
    return np.quantile(x, np.linspace(0, 1, QUANTILE_POINTS)).tolist()


def fit_quantity(
    quantity: str,
    values: np.ndarray,
    *,
    families: tuple[str, ...] = ("lognormal", "gamma", "weibull", "fisk"),
    mixture: bool = False,
    discrete: bool = True,
    ks_threshold: float = 0.05,
    seed: int = 0,
    min_values: int = MIN_VALUES,
) -> QuantityFit:
    """Fit, score and choose a distribution for positive ``values`` (see :func:`positive`). With fewer than
    ``min_values`` values only the quantile table is fitted, marked low confidence; none at all is an error."""
    x = positive(values, discrete)
    if x.size == 0:
        raise ValueError(f"{quantity}: no values to fit")
    quantiles = table(x)
    empirical = _score(Fit("empirical", {"points": float(QUANTILE_POINTS)}, int(x.size), math.nan, QUANTILE_POINTS),
                       x, discrete, quantiles)
    baseline = _score(aiperf_baseline(x), x, discrete)
    if x.size < min_values:
        empirical.note = f"low confidence: {x.size} values (< {min_values}), quantile table only"
        return QuantityFit(quantity, int(x.size), discrete, [empirical], empirical, quantiles, baseline,
                           notes=[empirical.note], confidence="low")
    cap = detect_cap(x)
    fits = [_score(fit_family(f, x, cap), x, discrete) for f in families if f in SCIPY]
    if mixture:
        fits.append(_score(fit_lognormal_mixture(x), x, discrete))
    best = min(fits, key=lambda f: f.aic)
    notes = [f"right-censored at {cap:g} ({best.censored} values)"] if cap is not None else []
    if best.ks <= ks_threshold:
        chosen = best
    else:
        chosen = empirical
        chosen.note = f"no parametric family within KS <= {ks_threshold} (lowest AIC: {best.family}, KS {best.ks:.3f})"
        notes.append(chosen.note)
    if chosen.family != "empirical":
        chosen.ci = _bootstrap(chosen, x, cap, seed)
    return QuantityFit(quantity, int(x.size), discrete, [*fits, empirical], chosen, quantiles, baseline, cap, notes)


def _bootstrap(fit: Fit, x: np.ndarray, cap, seed: int) -> dict[str, tuple[float, float]]:
    """95 % percentile intervals of the chosen family's parameters over resamples (of at most 2,000 values)."""
    rng = np.random.default_rng(seed)
    m = min(x.size, BOOTSTRAP_MAX_N)
    draws: dict[str, list[float]] = {k: [] for k in fit.params}
    for _ in range(BOOTSTRAP):
        sample = rng.choice(x, size=m, replace=True)
        try:
            again = refit(fit.family, sample, cap)
        except (ValueError, FloatingPointError, RuntimeError):
            continue
        for k, v in again.params.items():
            draws[k].append(v)
    scale = math.sqrt(m / x.size)  # a resample of m < n values is wider by sqrt(n / m)
    out = {}
    for k, vals in draws.items():
        if len(vals) >= 10:
            lo, hi = np.percentile(vals, [2.5, 97.5])
            centre = fit.params[k]
            out[k] = (float(centre - (centre - lo) * scale), float(centre + (hi - centre) * scale))
    return out
