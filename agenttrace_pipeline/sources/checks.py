"""Invariants of the canonical tables, as pandera checks (polars backend) and a record-accounting check."""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

from agenttrace_pipeline.sources.canonical import TURN_SCHEMA

_TRACE = ["source", "trace_id"]
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


def failures(turns: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """For each named check, the offending rows (empty frame when it holds)."""
    return {name: turns.filter(~expr) for name, (_, expr) in CHECKS.items()}
