"""Fit everything: every quantity of every source, of the pooled coding-agent sources, and the arrival traces."""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import orjson
import polars as pl

from agenttrace_pipeline.fitting import schemas
from agenttrace_pipeline.fitting.holdout import prefer_generalising, score_heldout, time_split
from agenttrace_pipeline.fitting.quantities import ARRIVAL_OPTIONS, FIT_OPTIONS, POOLED, FitOptions, SourceData, source_data
from agenttrace_pipeline.fitting.select import QuantityFit, fit_quantity


@dataclass(frozen=True, slots=True)
class Pooled:
    """Which sources the pooled set is made of, and whether they are all bundled samples."""

    members: list[str]
    samples_only: bool
    note: str


@dataclass
class FitRun:
    fits: dict[str, dict[str, QuantityFit]] = field(default_factory=dict)
    data: dict[str, SourceData] = field(default_factory=dict)
    arrivals: dict[str, tuple[QuantityFit, np.ndarray, dict]] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    pooled: Pooled | None = None
    samples: frozenset[str] = frozenset()  # sources that fell back to their bundled sample


def pooled_members(sources: Collection[str], samples: Collection[str]) -> Pooled | None:
    """The pooled set: every source with real data; the samples only when no source has real data (then
    marked). None when fewer than two sources qualify (a pool of one is that source's own profile)."""
    real = sorted(set(sources) - set(samples))
    if len(real) >= 2:
        left = sorted(set(sources) & set(samples))
        return Pooled(real, False, f"bundled samples left out: {left}" if left else "")
    if not real and len(sources) >= 2:
        return Pooled(sorted(sources), True, "every source fell back to its bundled sample: no real data")
    return None


def fit_id(source: str, quantity: str, family: str, params: dict) -> str:
    blob = orjson.dumps([source, quantity, family, params], option=orjson.OPT_SORT_KEYS | orjson.OPT_SERIALIZE_NUMPY)
    return hashlib.sha256(blob).hexdigest()[:16]


def fit_source(run: FitRun, source: str, data: SourceData, seed: int) -> None:
    """Every quantity of ``data`` fitted on all its traces and scored on held-out traces."""
    run.data[source] = data
    run.fits[source] = {}
    for q, opts in FIT_OPTIONS.items():
        values = data.values.get(q)
        if values is None or values.size == 0:
            if q not in ("agentic_gap_ms", "human_gap_ms"):  # those exist only with two delay components
                run.skipped.append(f"{source}/{q}: no values")
            continue
        qf = fit_quantity(q, values, seed=seed, **opts)
        run.fits[source][q] = prefer_generalising(score_heldout(qf, values[data.train[q]], values[~data.train[q]]))


def fit_all(turns: pl.DataFrame, arrivals: pl.DataFrame, *, samples: Collection[str] = (),
            context_windows: Mapping[str, int | None] | None = None, seed: int = 0) -> FitRun:
    """``turns``: canonical agent turns; ``arrivals``: the arrivals table; ``samples``: sources that fell
    back to their bundled sample; ``context_windows``: configured context window per source."""
    run = FitRun(samples=frozenset(samples))
    sources = sorted(turns["source"].unique().to_list())
    for s in sources:
        fit_source(run, s, source_data(s, turns.filter(pl.col("source") == s), context_windows), seed)
    run.pooled = pooled_members(sources, samples)
    if run.pooled is not None:
        pooled = turns.filter(pl.col("source").is_in(run.pooled.members))
        fit_source(run, POOLED, source_data(POOLED, pooled, context_windows), seed)
    else:
        run.skipped.append(f"{POOLED}: fewer than two sources with real data ({sorted(set(sources) - set(samples))})")
    for (source, file), a in arrivals.group_by("source", "file", maintain_order=True):
        _fit_arrivals(run, str(source), str(file), a, seed)
    return run


def _fit_arrivals(run: FitRun, source: str, file: str, a: pl.DataFrame, seed: int) -> None:
    gaps = np.diff(np.sort(a["timestamp_ms"].to_numpy()))
    name = f"{source}/{Path(file).stem}"
    if gaps.size == 0:
        run.skipped.append(f"{name}/inter_arrival_ms: no values")
        return
    whole_ms = bool(np.all(gaps == np.round(gaps)))  # Mooncake timestamps are whole ms: many ties
    opts: FitOptions = {**ARRIVAL_OPTIONS, "discrete": whole_ms}
    qf = fit_quantity("inter_arrival_ms", gaps, seed=seed, **opts)
    train = time_split(gaps.size)  # no traces here: the last 30 % of the file is held out
    prefer_generalising(score_heldout(qf, gaps[train], gaps[~train]))
    mean = float(gaps.mean())
    cv = float(gaps.std() / mean) if mean else float("nan")
    parametric = [f for f in qf.fits if f.family != "empirical"]
    expo = next((f for f in parametric if f.family == "exponential"), None)
    poisson = expo is not None and (expo.aic - min(f.aic for f in parametric) <= 2 or abs(cv - 1) < 0.15)
    info = {"file": file, "mean_gap_ms": mean, "cv": cv, "process": "poisson" if poisson else "bursty",
            "rate_per_s": 1000.0 / mean if mean else None}
    run.arrivals[name] = (qf, gaps, info)


def _nan_to_none(v: float) -> float | None:
    return None if v is None or not np.isfinite(v) else float(v)


def fits_frame(run: FitRun) -> pl.DataFrame:
    """The ``distribution_fits`` table (:data:`schemas.DISTRIBUTION_FITS`): one row per (source, quantity, family)."""
    rows = []
    items = [(s, q, f) for s, qs in run.fits.items() for q, f in qs.items()]
    items += [(name.split("/")[0], f"inter_arrival_ms:{name.split('/', 1)[1]}", qf) for name, (qf, _, _) in run.arrivals.items()]
    for source, quantity, qf in items:
        for f in [*qf.fits, qf.baseline]:
            params = {"quantiles": qf.quantiles} if f.family == "empirical" else f.params
            family = "aiperf_mean_median_lognormal" if f is qf.baseline else f.family
            rows.append({
                "source": source, "quantity": quantity, "family": family, "params": orjson.dumps(params).decode(),
                "ci": orjson.dumps(f.ci).decode(), "n": qf.n, "censored": f.censored, "loglik": _nan_to_none(f.loglik),
                "aic": _nan_to_none(f.aic), "bic": _nan_to_none(f.bic), "ks": f.ks, "ad": _nan_to_none(f.ad),
                "chosen": f is qf.chosen, "note": f.note or "; ".join(qf.notes) if f is qf.chosen else f.note,
                "fit_id": fit_id(source, quantity, family, params), "confidence": qf.confidence,
                "n_train": qf.n_train, "n_heldout": qf.n_heldout,
                "params_train": None if f.params_train is None else orjson.dumps(f.params_train).decode(),
                "ks_heldout": _nan_to_none(f.ks_heldout), "ks_noise_floor": qf.noise_floor,
            })
    return schemas.frame(rows, schemas.DISTRIBUTION_FITS)
