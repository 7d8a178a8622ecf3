"""Generalisation: a deterministic 70/30 split of the traces, and the train-vs-held-out noise floor.

In-sample KS proves little about new data (a quantile table matches its own data by construction), so every
fit is also refitted on the training traces and scored against the held-out ones. Whether a trace is held out
depends only on its source and trace id (a hash), never on row order or on which other traces exist, so the
same trace is held out in its source and in the pooled set, run after run.

The noise floor is the two-sample KS between the training and the held-out values: what two samples of the
same traces differ by with no model at all. A model generalises when its held-out KS is within
:data:`HELDOUT_MARGIN` of that floor.
"""

from __future__ import annotations

import hashlib

import numpy as np
import polars as pl
from scipy import stats

from agenttrace_pipeline.fitting.select import QuantityFit, aiperf_baseline, empirical_cdf, ks_statistic, model_cdf, positive, refit, table

TRAIN_SHARE = 0.7
HELDOUT_MARGIN = 0.03  # held-out KS target: noise floor + this


def is_training_trace(source: str, trace_id: str) -> bool:
    """True for the ~70 % of traces that fits are trained on (sha256 of source and trace id)."""
    digest = hashlib.sha256(f"{source}\x00{trace_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < TRAIN_SHARE


def training_column(turns: pl.DataFrame) -> pl.Series:
    """Per row of ``turns`` (columns source, trace_id): whether its trace is a training trace."""
    keys = turns.select("source", "trace_id").unique()
    flags = keys.with_columns(pl.Series("train", [is_training_trace(s, t) for s, t in keys.iter_rows()],
                                        dtype=pl.Boolean))
    return turns.select("source", "trace_id").join(flags, on=["source", "trace_id"], how="left",
                                                    maintain_order="left")["train"]


def time_split(n: int) -> np.ndarray:
    """For a series without traces (arrival times): the first 70 % train, the rest is held out."""
    mask = np.zeros(n, dtype=bool)
    mask[: int(round(n * TRAIN_SHARE))] = True
    return mask


def noise_floor(train: np.ndarray, heldout: np.ndarray) -> float | None:
    """Two-sample KS between training and held-out values (None when either side is empty)."""
    if train.size == 0 or heldout.size == 0:
        return None
    return float(stats.ks_2samp(train, heldout).statistic)


def ks_two_sample(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sample KS with both sides raised to 1 (the generator's floor for every size and time)."""
    return float(stats.ks_2samp(np.maximum(a, 1), np.maximum(b, 1)).statistic)


def ks_critical(n: int, m: int | None = None, alpha: float = 0.05) -> float:
    """The KS value that a sample of ``n`` values exceeds with probability ``alpha`` when it does come from
    the model (one-sample, ``m`` None) or from the same distribution as a sample of ``m`` values (asymptotic
    form): no fit can be asked to do better than this."""
    c = float(np.sqrt(-0.5 * np.log(alpha / 2)))
    if n <= 0 or m is not None and m <= 0:
        return 1.0
    return c * float(np.sqrt(1 / n + (1 / m if m else 0.0)))


def ks_target(fixed: float, n: int, m: int | None = None) -> float:
    """A KS target: ``fixed``, or :func:`ks_critical` for these sample sizes when that is larger (a right
    model exceeds it only 5 % of the time; a handful of values cannot show a KS of 0.05 at all)."""
    return max(fixed, ks_critical(n, m))


def score_heldout(qf: QuantityFit, train_values: np.ndarray, heldout_values: np.ndarray) -> QuantityFit:
    """Refit every candidate of ``qf`` (and AIPerf's baseline) on the training values, score each on the
    held-out values, and record the noise floor; candidates that cannot be refitted keep a NaN score."""
    xt, xh = positive(train_values, qf.discrete), positive(heldout_values, qf.discrete)
    qf.n_train, qf.n_heldout, qf.noise_floor = int(xt.size), int(xh.size), noise_floor(xt, xh)
    if not xt.size or not xh.size:
        return qf
    for f in [*qf.fits, qf.baseline]:
        if f.family == "empirical":
            f.params_train = {"quantiles": table(xt)}
            cdf = empirical_cdf(f.params_train["quantiles"])
        else:
            try:
                again = aiperf_baseline(xt) if f is qf.baseline else refit(f.family, xt, qf.cap)
            except (ValueError, FloatingPointError, RuntimeError):
                continue
            f.params_train = again.params
            cdf = model_cdf(again)
        f.ks_heldout = ks_statistic(xh, cdf, qf.discrete)
    return qf


def prefer_generalising(qf: QuantityFit) -> QuantityFit:
    """A chosen family whose held-out KS is above the noise floor + margin yields to the quantile table
    when the table generalises better: a family that fits its own traces but not new ones is no model."""
    c = qf.chosen
    if c.family == "empirical" or qf.noise_floor is None or not np.isfinite(c.ks_heldout):
        return qf
    table_fit = next(f for f in qf.fits if f.family == "empirical")
    limit = qf.noise_floor + HELDOUT_MARGIN
    if c.ks_heldout > limit and table_fit.ks_heldout < c.ks_heldout:
        table_fit.note = (f"{c.family} fits in-sample (KS {c.ks:.3f}) but not held-out traces (KS {c.ks_heldout:.3f} > "
                          f"noise floor {qf.noise_floor:.3f} + {HELDOUT_MARGIN}); the quantile table does ({table_fit.ks_heldout:.3f})")
        qf.chosen = table_fit
        qf.notes.append(table_fit.note)
    return qf
