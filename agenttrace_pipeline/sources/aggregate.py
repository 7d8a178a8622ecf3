"""Per-trace aggregates of the canonical tables: sessions and (for OpenHands) trajectory shapes."""

from __future__ import annotations

from functools import partial

import polars as pl

from agenttrace_pipeline.sources.column_stats import column_median

_TRACE = ["source", "trace_id"]


def sessions(turns: pl.DataFrame, spans: pl.DataFrame) -> pl.DataFrame:
    """One row per trace: turns, first/last prompt, token totals, time split into LLM, tool and other."""
    by_tool = spans.group_by(_TRACE).agg(pl.len().alias("tool_calls"), pl.col("is_error").sum().alias("tool_errors"))
    return (
        turns.sort("turn_index")
        .group_by(_TRACE, maintain_order=True)
        .agg(
            pl.col("model").drop_nulls().first().alias("model"),
            pl.len().alias("turns"),
            pl.col("started_at").min().alias("started_at"),
            pl.col("prompt_tokens").first().alias("initial_prompt_tokens"),
            pl.col("prompt_tokens").max().alias("max_prompt_tokens"),
            pl.col("completion_tokens").sum().alias("completion_tokens"),
            pl.col("new_input_tokens").sum().alias("new_input_tokens"),
            pl.col("cached_tokens").sum().alias("cached_tokens"),
            pl.col("llm_latency_ms").sum().alias("llm_time_ms"),
            pl.col("tool_time_ms").sum().alias("tool_time_ms"),
            pl.col("gap_before_ms").sum().alias("gap_time_ms"),
            pl.col("context_reset").sum().alias("context_resets"),
        )
        .join(by_tool, on=_TRACE, how="left")
        .with_columns(pl.col("tool_calls").fill_null(0), pl.col("tool_errors").fill_null(0))
    )


def openhands_trace_shapes(turns: pl.DataFrame, spans: pl.DataFrame) -> pl.DataFrame:
    """Per-trajectory shape statistics: turns, tokens per step, tool-call counts and mix, durations."""
    mix = (spans.group_by([*_TRACE, "tool_name"]).len()
           .group_by(_TRACE).agg(pl.struct(pl.col("tool_name"), pl.col("len").alias("calls")).alias("tool_mix")))
    return (
        turns.group_by(_TRACE)
        .agg(
            pl.len().alias("turns"),
            pl.col("prompt_tokens").mean().alias("mean_prompt_tokens"),
            pl.col("prompt_tokens").max().alias("max_prompt_tokens"),
            pl.col("new_input_tokens").mean().alias("mean_new_input_tokens"),
            pl.col("completion_tokens").mean().alias("mean_completion_tokens"),
            pl.col("n_tool_calls").sum().alias("tool_calls"),
            pl.col("llm_latency_ms").sum().alias("llm_time_ms"),
            pl.col("tool_time_ms").sum().alias("tool_time_ms"),
            pl.col("started_at").min().alias("started_at"),
            pl.col("started_at").max().alias("last_turn_at"),
        )
        .with_columns(((pl.col("last_turn_at") - pl.col("started_at")).dt.total_milliseconds()).alias("duration_ms"))
        .join(mix, on=_TRACE, how="left")
        .sort(_TRACE)
    )


def shape_summary(shapes: pl.DataFrame) -> dict[str, float | int | None]:
    """Medians over trajectories (what seed 002's trace-shape report summarises)."""
    if not shapes.height:
        return {"trajectories": 0}
    med = partial(column_median, shapes)
    return {"trajectories": shapes.height, "median_turns": med("turns"), "median_tool_calls": med("tool_calls"),
            "median_prompt_tokens": med("mean_prompt_tokens"), "median_completion_tokens": med("mean_completion_tokens"),
            "median_duration_ms": med("duration_ms")}
