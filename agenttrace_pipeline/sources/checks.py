"""Invariants of the canonical tables, as pandera checks (polars backend), and the record-accounting rule."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandera.errors
import pandera.polars as pa
import polars as pl

from agenttrace_pipeline.sources.canonical import TURN_SCHEMA

_TRACE = ["source", "trace_id"]
ACCOUNTING = "quarantine_accounts_for_every_record"
ACCOUNTING_RULE = ("For every source: records read = records accepted + records quarantined, and the quarantine "
                   "table holds exactly the quarantined ones.")
_TOKENS = ("prompt_tokens", "completion_tokens", "cached_tokens", "new_input_tokens")


def _prev(col: str) -> pl.Expr:
    return pl.col(col).shift(1).over(_TRACE, order_by="turn_index")


CHECKS: dict[str, tuple[str, pl.Expr]] = {
    "tokens_are_non_negative": (
        "Every token count (prompt, completion, cached, new input) is >= 0 where present.",
        pl.all_horizontal([pl.col(c).fill_null(0) >= 0 for c in _TOKENS]),
    ),
    "turn_indexes_are_contiguous": (
        "Within a trace, turn indexes are 0, 1, 2, … with no gap or repeat.",
        pl.col("turn_index") == pl.int_range(pl.len()).over(_TRACE, order_by="turn_index"),
    ),
    "timestamps_are_monotone_within_a_trace": (
        "Within a trace, a turn never starts before the previous turn started.",
        pl.col("started_at").is_null() | _prev("started_at").is_null() | (pl.col("started_at") >= _prev("started_at")),
    ),
    "prompt_tokens_grow_except_at_context_resets": (
        "Within a trace, the prompt never shrinks except at a context reset the source documents "
        "(compaction, condensation, providers dropping earlier reasoning).",
        pl.col("context_reset") | pl.col("prompt_tokens").is_null() | _prev("prompt_tokens").is_null()
        | (pl.col("prompt_tokens") >= _prev("prompt_tokens")),
    ),
}


def turns_schema() -> pa.DataFrameSchema:
    """The canonical turn table with its row and cross-row rules."""
    return pa.DataFrameSchema(
        {name: pa.Column(dtype, nullable=name not in ("source", "trace_id", "turn_index", "n_tool_calls",
                                                       "context_reset", "usage_snapshot")) for name, dtype in TURN_SCHEMA.items()},
        checks=[pa.Check(lambda d, e=expr: d.lazyframe.select(e.alias("ok")), name=name, error=desc)
                for name, (desc, expr) in CHECKS.items()],
        strict=True,
        name="agent_turns",
    )


_CHECK_FIELDS = {"turn_indexes_are_contiguous": "turn_index", "timestamps_are_monotone_within_a_trace": "started_at",
                 "prompt_tokens_grow_except_at_context_resets": "prompt_tokens"}


def failures(turns: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """For each named check, the offending rows (empty frame when it holds)."""
    return {name: turns.filter(~expr) for name, (_, expr) in CHECKS.items()}


def failing_field(rule: str, row: dict[str, Any]) -> str:
    """The canonical column that makes ``row`` break ``rule``."""
    if rule == "tokens_are_non_negative":
        return next((c for c in _TOKENS if (row.get(c) or 0) < 0), _TOKENS[0])
    return _CHECK_FIELDS[rule]


def locate(rows: pl.DataFrame, limit: int = 20) -> list[str]:
    """``FILE:LINE (source/trace/turn)`` for the first ``limit`` canonical-turn rows: where a failing row came
    from, for check metadata and the CLI."""
    out = []
    for r in rows.head(limit).iter_rows(named=True):
        where = f"{r.get('file') or '?'}:{r.get('record') or '?'}"
        out.append(f"{where} ({r.get('source')}/{r.get('trace_id')}/{r.get('turn_index')})")
    return out


@dataclass
class Outcome:
    """The result of one named check: whether it passed, and figures to show beside it."""

    name: str
    passed: bool
    metadata: dict[str, Any]


def evaluate(turns: pl.DataFrame, stats: pl.DataFrame, quarantine_rows: int) -> list[Outcome]:
    """Every blocking check of ``agent_turns``: the named row rules (a structural schema error fails them all;
    failing rows are listed with :func:`locate`) and the record accounting."""
    bad = failures(turns)
    schema_error = ""
    try:
        turns_schema().validate(turns, lazy=True)
    except pandera.errors.SchemaErrors as exc:
        # failures of the named row rules are reported by their own checks; anything else (a column missing
        # or of the wrong type) fails them all
        named = set(CHECKS) | {desc for desc, _ in CHECKS.values()}  # pandera reports a check's error text
        structural = set(exc.failure_cases["check"].to_list()) - named
        schema_error = f"{sorted(structural)}: {str(exc)[:1200]}" if structural else ""
    outcomes = [Outcome(name, bad[name].height == 0 and not schema_error,
                        {"failing_rows": bad[name].height, "rows": locate(bad[name]) or "none", "schema": schema_error or "ok"})
                for name in CHECKS]
    ok, figures = accounting(stats, quarantine_rows)
    return [*outcomes, Outcome(ACCOUNTING, ok, figures)]


def accounting(stats: pl.DataFrame, quarantine_rows: int) -> tuple[bool, dict[str, Any]]:
    """The record-accounting rule over ``source_ingest_stats`` rows: for every source, records read = accepted
    + quarantined, and the quarantine table holds exactly the quarantined ones. Returns (holds, figures)."""
    sums = {c: int(stats[c].sum()) if c in stats.columns else 0
            for c in ("records_in", "records_accepted", "records_quarantined", "api_error_records",
                      "snapshot_turns", "quarantined_traces")}
    unbalanced = stats.filter(pl.col("records_in") != pl.col("records_accepted") + pl.col("records_quarantined"))
    ok = unbalanced.height == 0 and quarantine_rows == sums["records_quarantined"]
    return ok, {**sums, "quarantine_rows": quarantine_rows,
                "unbalanced_sources": unbalanced["source"].to_list() if "source" in unbalanced.columns else []}
