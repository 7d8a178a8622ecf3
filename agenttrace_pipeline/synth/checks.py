"""Invariants of a generated dataset, as data checks the Dagster asset runs before it writes anything."""

from __future__ import annotations

import math
from typing import Any

import pandera.polars as pa
import polars as pl

from agenttrace_pipeline.synth.engine import END_REASONS

# |observed - target| allowed for a targeted mean/median: 2 %, widened to 4 standard errors when the
# sample is small (a 300-session dataset cannot pin a heavy-tailed mean to 2 %).
BASE_TOLERANCE_PCT = 2.0


def sessions_schema(max_prompt_tokens: int) -> pa.DataFrameSchema:
    """pandera schema of the per-session table (``synthetic_sessions``)."""
    return pa.DataFrameSchema(
        {
            "session_id": pa.Column(pl.String, unique=True),
            "group_id": pa.Column(pl.Int64, pa.Check.ge(0)),
            "is_restart": pa.Column(pl.Boolean),
            "turns": pa.Column(pl.Int64, pa.Check.ge(1)),
            "initial_context": pa.Column(pl.Int64, [pa.Check.gt(0), pa.Check.lt(max_prompt_tokens)]),
            "end_reason": pa.Column(pl.String, pa.Check.isin(list(END_REASONS))),
            "timestamp": pa.Column(pl.Float64, pa.Check.ge(0)),
            "total_delay_ms": pa.Column(pl.Float64, pa.Check.ge(0)),
            "input_tokens": pa.Column(pl.Int64, pa.Check.gt(0)),
            "output_tokens": pa.Column(pl.Int64, pa.Check.gt(0)),
        },
        checks=[
            pa.Check(lambda d: d.lazyframe.select(
                (~pl.col("is_restart") | (pl.col("end_reason") != "restart_split")).alias("ok")),
                name="continuations_do_not_split_again", error="a restart continuation ended in restart_split"),
            pa.Check(lambda d: d.lazyframe.select(
                (pl.col("is_restart").sum() <= (pl.col("end_reason") == "restart_split").sum()).alias("ok")),
                name="every_continuation_has_a_split_primary", error="more continuations than restart splits"),
        ],
        strict=True,
        name="synthetic_sessions",
    )


def quality_problems(quality: dict[str, Any], base_pct: float = BASE_TOLERANCE_PCT) -> list[str]:
    """Targeted metrics whose observed mean or median misses the target by more than the tolerance."""
    problems = []
    for name, row in quality["observed_vs_target"].items():
        obs = row["observed"]
        n = obs.get("count", 0)
        for stat, factor in (("mean", 1.0), ("median", 1.2533)):
            target, err = row[f"target_{stat}"], row[f"pct_error_{stat}"]
            if target is None or err is None or not n:
                continue
            se_pct = 100 * factor * obs["std"] / math.sqrt(n) / target if target else 0.0
            tol = max(base_pct, 4 * se_pct)
            if abs(err) > tol:
                problems.append(f"{name} {stat}: observed {obs[stat]:,.1f} vs target {target:,.1f} "
                                f"({err:+.2f} %, tolerance {tol:.2f} %)")
    return problems
