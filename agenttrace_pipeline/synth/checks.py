"""Invariants of a generated dataset, as data checks the Dagster asset runs before it writes anything, and
the quality table it stores."""

from __future__ import annotations

import math
from typing import Any

import pandera.polars as pa
import polars as pl

from agenttrace_pipeline.synth.engine import END_REASONS
from agenttrace_pipeline.synth.generate import SynthesisResult
from agenttrace_pipeline.synth.ks import failures
from agenttrace_pipeline.trace.schema import read_trace_table
from agenttrace_pipeline.trace.validator import validate_file

CHECKS = {
    "rows_match_trace_schema": "Every row passes the trace contract's row rules (types, positive lengths, hash-id "
    "count rule, turn-0 timestamp / later-turn delay), checked once by the validator whose rules the pandera "
    "schema is built from (a dataset the validator passed is not checked again).",
    "sessions_are_well_formed": "Per-session table passes its pandera schema; sessions and rows add up to the manifest.",
    "hash_ids_keep_one_block_size": "The whole file passes the validator's cross-row rules: contiguous sessions "
    "and one block size per hash id (restart continuations included).",
    "quality_within_tolerance": "Observed mean and median of every targeted metric within 2 % of target "
    "(or 4 standard errors for small datasets).",
    "generated_values_follow_configured_distributions": "Kolmogorov-Smirnov distance of every value each sampler "
    "drew (L2, new tokens, output, delay, turns, arrival gaps) from its configured law, computed from the law's "
    "CDF, within the DKW bound at alpha = 1e-6: a sampler defect fails it at any dataset size.",
}

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


def _session_checks(res: SynthesisResult, max_prompt_tokens: int) -> dict[str, tuple[bool, str]]:
    out: dict[str, tuple[bool, str]] = {}
    sessions = res.sessions_frame()
    problems = []
    try:
        sessions_schema(max_prompt_tokens).validate(sessions, lazy=True)
    except Exception as exc:
        problems.append(str(exc)[:1500])
    if sessions.height != res.manifest["sessions_emitted"] or int(sessions["turns"].sum()) != res.rows:
        problems.append("session table does not add up to the manifest's sessions/rows")
    out["sessions_are_well_formed"] = (not problems, "; ".join(problems) or f"{sessions.height:,} sessions")
    return out


def dataset_checks(res: SynthesisResult, max_prompt_tokens: int) -> tuple[dict[str, tuple[bool, str]], pl.DataFrame]:
    """Run every check in :data:`CHECKS` on one generated dataset; returns {check: (passed, detail)} and its
    trace table (``collect_sessions=True`` runs only)."""
    report = validate_file(res.dataset, res.manifest["block_size"], max_errors=20)
    detail = "valid" if report.valid else "; ".join(str(v) for v in report.violations[:5])
    out = {"rows_match_trace_schema": (report.valid, f"{report.rows:,} rows, {detail}")}
    out |= _session_checks(res, max_prompt_tokens)
    out["hash_ids_keep_one_block_size"] = (report.valid, f"{report.distinct_hash_ids:,} distinct ids, {detail}")
    table = read_trace_table(res.dataset) if report.valid else pl.DataFrame()
    misses = quality_problems(res.quality)
    out["quality_within_tolerance"] = (not misses, "; ".join(misses) or "all targeted metrics within tolerance")
    dist = res.quality.get("distribution_checks", {})
    bad = failures(dist)
    worst = max(dist.items(), key=lambda kv: kv[1]["ks"] / kv[1]["threshold"], default=None)
    ok_detail = (f"{len(dist)} quantities; closest: {worst[0]} KS {worst[1]['ks']:.4f} <= {worst[1]['threshold']:.4f}"
                 if worst else "no values drawn")
    out["generated_values_follow_configured_distributions"] = (not bad and bool(dist), "; ".join(bad) or ok_detail)
    return out, table


_FLOAT_COLUMNS = ("target_mean", "observed_mean", "pct_error_mean", "target_median", "observed_median",
                  "pct_error_median", "std", "p05", "p95", "p99")


def quality_frame(quality: dict[str, Any]) -> pl.DataFrame:
    """quality.json's observed-vs-target section as rows (one per metric) for the ``dataset_quality`` table."""
    recs = []
    for metric, row in quality["observed_vs_target"].items():
        o = row["observed"]
        recs.append({
            "metric": metric, "target_mean": row["target_mean"], "observed_mean": o.get("mean"),
            "pct_error_mean": row["pct_error_mean"], "target_median": row["target_median"],
            "observed_median": o.get("median"), "pct_error_median": row["pct_error_median"],
            "count": o.get("count", 0), "std": o.get("std"), "p05": o.get("p05"), "p95": o.get("p95"),
            "p99": o.get("p99"),
        })
    return pl.DataFrame(recs, schema_overrides={k: pl.Float64 for k in _FLOAT_COLUMNS})


def quality_markdown(quality: dict[str, Any]) -> str:
    """The observed-vs-target table as Markdown (numbers only, so nothing needs escaping)."""
    lines = ["| metric | target mean | observed mean | err | target median | observed median | err |",
             "|---|---|---|---|---|---|---|"]

    def f(v, pct=False):
        return "–" if v is None else (f"{v:+.2f} %" if pct else f"{v:,.1f}")

    for name, row in quality["observed_vs_target"].items():
        o = row["observed"]
        lines.append(f"| {name} | {f(row['target_mean'])} | {f(o.get('mean'))} | {f(row['pct_error_mean'], True)} | "
                     f"{f(row['target_median'])} | {f(o.get('median'))} | {f(row['pct_error_median'], True)} |")
    return "\n".join(lines)
