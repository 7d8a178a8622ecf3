"""Two-component lognormal mixture fitted by EM (a Gaussian mixture on log values).

Inter-turn gaps mix fast tool round-trips with slow steps (long commands, human input); a two-component
mixture separates them: the lighter component is the agentic (tool) part, the heavier the human part —
exactly the generator's ``agentic_fraction`` / ``agentic_delay`` / ``human_delay``.
"""

from __future__ import annotations

import math

import numpy as np

from agenttrace_pipeline.fitting.families import Fit

_LOG_2PI = math.log(2 * math.pi)


def _logpdf_components(y: np.ndarray, w: np.ndarray, mu: np.ndarray, sd: np.ndarray) -> np.ndarray:
    return np.log(w)[None, :] - 0.5 * (_LOG_2PI + 2 * np.log(sd)[None, :] + ((y[:, None] - mu[None, :]) / sd[None, :]) ** 2)


def fit_lognormal_mixture(x: np.ndarray, iterations: int = 300, tol: float = 1e-8) -> Fit:
    """EM on ``log x``; components ordered by median (component 0 = the faster, agentic one)."""
    y = np.log(x)
    lo, hi = np.quantile(y, [0.25, 0.75])
    w, mu, sd = np.array([0.5, 0.5]), np.array([lo, hi]), np.full(2, max(y.std() / 2, 1e-3))
    prev = -np.inf
    for _ in range(iterations):
        lp = _logpdf_components(y, w, mu, sd)
        norm = np.logaddexp(lp[:, 0], lp[:, 1])
        ll = float(norm.sum())
        r = np.exp(lp - norm[:, None])
        nk = r.sum(axis=0) + 1e-12
        w = nk / y.size
        mu = (r * y[:, None]).sum(axis=0) / nk
        sd = np.sqrt((r * (y[:, None] - mu[None, :]) ** 2).sum(axis=0) / nk)
        sd = np.maximum(sd, 1e-3)
        if ll - prev < tol * abs(ll):
            break
        prev = ll
    order = np.argsort(mu)
    w, mu, sd = w[order], mu[order], sd[order]
    lp = _logpdf_components(y, w, mu, sd)
    loglik = float(np.logaddexp(lp[:, 0], lp[:, 1]).sum() - y.sum())  # back to x: Jacobian 1/x
    params = {"weight_0": float(w[0]), "mu_0": float(mu[0]), "sigma_0": float(sd[0]),
              "weight_1": float(w[1]), "mu_1": float(mu[1]), "sigma_1": float(sd[1])}
    return Fit("lognormal_mixture", params, int(x.size), loglik, 5)


def mixture_cdf(params: dict[str, float], x: np.ndarray) -> np.ndarray:
    from scipy.special import ndtr

    lx = np.log(np.maximum(x, 1e-300))
    return sum(params[f"weight_{k}"] * ndtr((lx - params[f"mu_{k}"]) / params[f"sigma_{k}"]) for k in (0, 1))


def mixture_sample(params: dict[str, float], rng: np.random.Generator, n: int) -> np.ndarray:
    k = (rng.random(n) >= params["weight_0"]).astype(int)
    mu = np.where(k == 0, params["mu_0"], params["mu_1"])
    sd = np.where(k == 0, params["sigma_0"], params["sigma_1"])
    return np.exp(mu + sd * rng.standard_normal(n))
