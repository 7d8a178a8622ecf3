"""Declared schemas of the tables fitting writes, so an empty table is still written with its columns.

Each frame is built here with exactly these columns; the assets add ``run_id`` (and drop the partition
column) when they write it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import polars as pl

DISTRIBUTION_FITS: dict[str, pl.DataType] = {
    "source": pl.String(),
    "quantity": pl.String(),
    "family": pl.String(),
    "params": pl.String(),  # JSON: the parameters fitted on every trace (a quantile table: {"quantiles": […]})
    "ci": pl.String(),  # JSON: 95 % bootstrap intervals of the chosen family's parameters
    "n": pl.Int64(),
    "censored": pl.Int64(),
    "loglik": pl.Float64(),
    "aic": pl.Float64(),
    "bic": pl.Float64(),
    "ks": pl.Float64(),  # in-sample one-sample KS
    "ad": pl.Float64(),
    "chosen": pl.Boolean(),
    "note": pl.String(),
    "fit_id": pl.String(),
    "confidence": pl.String(),  # "high", or "low" when fewer values than the fit minimum
    "n_train": pl.Int64(),
    "n_heldout": pl.Int64(),
    "params_train": pl.String(),  # JSON: the same family refitted on the training traces (null if it could not be)
    "ks_heldout": pl.Float64(),  # that refit scored on the held-out traces
    "ks_noise_floor": pl.Float64(),  # two-sample KS, training vs held-out values
}

GENERATOR_PROFILES: dict[str, pl.DataType] = {
    "profile": pl.String(),
    "source": pl.String(),
    "path": pl.String(),
    "config": pl.String(),  # the profile JSON
    "fit_ids": pl.String(),
    "source_fingerprints": pl.String(),
    "sources": pl.String(),  # JSON list: the sources the profile was fitted from
    "confidence": pl.String(),  # "high" or "low"
    "low_confidence_reasons": pl.String(),  # JSON list, empty when confidence is high
    "from_samples": pl.Boolean(),  # fitted (only) from bundled samples, not from real data
    "max_prompt_tokens": pl.Int64(),
    "context_window_basis": pl.String(),
    "delay_components": pl.Int32(),
}

PROFILE_ROUNDTRIP: dict[str, pl.DataType] = {
    "profile": pl.String(),
    "quantity": pl.String(),
    "n_data": pl.Int64(),
    "ks_profile": pl.Float64(),  # in-sample: the exported profile's sessions vs every trace of its source
    "ks_aiperf_baseline": pl.Float64(),  # the same with AIPerf's mean/median lognormals
    "target": pl.Float64(),  # in-sample KS target: max(fixed target, 5 % critical value for these sizes)
    "n_heldout": pl.Int64(),
    "ks_heldout": pl.Float64(),  # a profile fitted on the training traces vs the held-out traces
    "ks_noise_floor": pl.Float64(),  # training vs held-out traces, no model
    "heldout_target": pl.Float64(),  # noise floor + margin
    "passes": pl.Boolean(),
    "reason": pl.String(),  # why it fails ("" when it passes)
}


def frame(rows: Iterable[Mapping[str, Any]], schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
    """``rows`` as a frame with exactly ``schema``'s columns and types (also when there are no rows)."""
    rows = list(rows)
    for i, r in enumerate(rows):
        extra, missing = set(r) - set(schema), set(schema) - set(r)
        if extra or missing:
            raise ValueError(f"row {i}: columns not in the declared schema {sorted(extra)}, missing {sorted(missing)}")
    return pl.DataFrame(rows, schema=dict(schema))
