"""Fit everything: every quantity of every source, of the pooled coding-agent sources, and the arrival traces."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import orjson
import polars as pl

from agenttrace_pipeline.fitting.quantities import ARRIVAL_OPTIONS, POOLED, QUANTITIES, SourceData, source_data
from agenttrace_pipeline.fitting.select import QuantityFit, fit_quantity

MIN_VALUES = 20  # fewer values than this are reported, not fitted


@dataclass
class FitRun:
    fits: dict[str, dict[str, QuantityFit]] = field(default_factory=dict)
    data: dict[str, SourceData] = field(default_factory=dict)
    arrivals: dict[str, tuple[QuantityFit, np.ndarray, dict]] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)


def fit_id(source: str, quantity: str, family: str, params: dict) -> str:
    blob = orjson.dumps([source, quantity, family, params], option=orjson.OPT_SORT_KEYS | orjson.OPT_SERIALIZE_NUMPY)
    return hashlib.sha256(blob).hexdigest()[:16]


def fit_all(turns: pl.DataFrame, arrivals: pl.DataFrame, seed: int = 0) -> FitRun:
    """``turns``: canonical agent turns; ``arrivals``: the arrivals table."""
    run = FitRun()
    groups = {s: turns.filter(pl.col("source") == s) for s in sorted(turns["source"].unique().to_list())}
    if len(groups) > 1:
        groups[POOLED] = turns
    for source, t in groups.items():
        data = source_data(source, t)
        run.data[source] = data
        run.fits[source] = {}
        for q, opts in QUANTITIES.items():
            values = data.values.get(q)
            if values is None or values.size < MIN_VALUES:
                run.skipped.append(f"{source}/{q}: {0 if values is None else values.size} values (< {MIN_VALUES})")
                continue
            run.fits[source][q] = fit_quantity(q, values, seed=seed, **opts)
    for (source, file), a in arrivals.group_by("source", "file"):
        gaps = np.diff(np.sort(a["timestamp_ms"].to_numpy()))
        name = f"{source}/{Path(file).stem}"
        if gaps.size < MIN_VALUES:
            run.skipped.append(f"{name}/inter_arrival_ms: {gaps.size} values")
            continue
        whole_ms = bool(np.all(gaps == np.round(gaps)))  # Mooncake timestamps are whole ms: many ties
        qf = fit_quantity("inter_arrival_ms", gaps, seed=seed, **{**ARRIVAL_OPTIONS, "discrete": whole_ms})
        mean = float(gaps.mean())
        cv = float(gaps.std() / mean) if mean else float("nan")
        expo = next(f for f in qf.fits if f.family == "exponential")
        best_aic = min(f.aic for f in qf.fits if f.family != "empirical")
        poisson = expo.aic - best_aic <= 2 or abs(cv - 1) < 0.15
        info = {"file": file, "mean_gap_ms": mean, "cv": cv, "process": "poisson" if poisson else "bursty",
                "rate_per_s": 1000.0 / mean if mean else None}
        run.arrivals[name] = (qf, gaps, info)
    return run


def fits_frame(run: FitRun) -> pl.DataFrame:
    """The ``distribution_fits`` table: one row per (source, quantity, family)."""
    rows = []
    items = [(s, q, f) for s, qs in run.fits.items() for q, f in qs.items()]
    items += [(name.split("/")[0], f"inter_arrival_ms:{name.split('/', 1)[1]}", qf) for name, (qf, _, _) in run.arrivals.items()]
    for source, quantity, qf in items:
        for f in [*qf.fits, qf.baseline]:
            params = {"quantiles": qf.quantiles} if f.family == "empirical" else f.params
            family = "aiperf_mean_median_lognormal" if f is qf.baseline else f.family
            rows.append({
                "source": source, "quantity": quantity, "family": family, "params": orjson.dumps(params).decode(),
                "ci": orjson.dumps(f.ci).decode(), "n": qf.n, "censored": f.censored, "loglik": f.loglik,
                "aic": f.aic, "bic": f.bic, "ks": f.ks, "ad": f.ad, "chosen": f is qf.chosen,
                "note": f.note or "; ".join(qf.notes) if f is qf.chosen else f.note,
                "fit_id": fit_id(source, quantity, family, params),
            })
    return pl.DataFrame(rows, schema={
        "source": pl.String, "quantity": pl.String, "family": pl.String, "params": pl.String, "ci": pl.String,
        "n": pl.Int64, "censored": pl.Int64, "loglik": pl.Float64, "aic": pl.Float64, "bic": pl.Float64,
        "ks": pl.Float64, "ad": pl.Float64, "chosen": pl.Boolean, "note": pl.String, "fit_id": pl.String})
