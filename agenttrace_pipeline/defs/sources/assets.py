"""Real agent-trace sources: one ``<source>_raw`` asset per entry of ``assets_config/sources.json``, then the
canonical ``agent_turns`` (checked), ``tool_spans``, ``arrivals``, ``agent_sessions`` and
``openhands_trace_shapes`` tables."""

import dagster as dg
import polars as pl
from pydantic import Field

from agenttrace_pipeline.lib.warehouse import WarehouseResource, record_lineage
from agenttrace_pipeline.redact import md_table
from agenttrace_pipeline.sources import aggregate
from agenttrace_pipeline.sources.canonical import ARRIVAL_SCHEMA, QUARANTINE_SCHEMA, SPAN_SCHEMA, TURN_SCHEMA
from agenttrace_pipeline.sources.checks import ACCOUNTING, ACCOUNTING_RULE, CHECKS, evaluate
from agenttrace_pipeline.sources.download import FetchPolicy
from agenttrace_pipeline.sources.registry import (
    SourceConfigError,
    SourceSpec,
    ingest,
    input_fingerprints,
    load_sources,
    quarantined_examples,
    stats_row,
    summary,
)
from agenttrace_pipeline.store.reading import read_by_source as store_read
from agenttrace_pipeline.store.warehouse import Warehouse, frame_fingerprint


def _load() -> tuple[list[SourceSpec], str]:
    """The configured sources, or none and the error: a bad sources file must not take down the code location;
    the source assets fail with its message instead."""
    try:
        return load_sources(), ""
    except SourceConfigError as exc:
        return [], str(exc)


SPECS, CONFIG_ERROR = _load()
RAW_KEYS = [dg.AssetKey(f"{s.name}_raw") for s in SPECS]
ACCEPTED = "some_records_accepted"
STAGED = ("staged_turns", "staged_spans", "staged_arrivals", "quarantine")


class SourceIngestConfig(dg.Config):
    offline: bool = Field(default=False, description="Use only the download cache for URLs (also AGENTTRACE_OFFLINE=1).")


def _raw_asset(spec: SourceSpec) -> dg.AssetsDefinition:
    @dg.asset(name=f"{spec.name}_raw", check_specs=[dg.AssetCheckSpec(
                  ACCEPTED, asset=f"{spec.name}_raw", blocking=False,
                  description="The source yielded records: a source whose every record was rejected fails "
                              "(the rejected ones are in the quarantine table).")],
              kinds={"parquet"}, description=f"Source {spec.name!r} ({spec.format}; {spec.license or 'license n/a'}) "
              "parsed into canonical turns, tool spans, arrivals and quarantined records (staged tables).")
    def _asset(context: dg.AssetExecutionContext, config: SourceIngestConfig, warehouse: WarehouseResource):
        resolved, parsed = ingest(spec, FetchPolicy(offline=True) if config.offline else None)
        for note in resolved.notes:
            context.log.warning(note)
        wh, run = warehouse.get(), pl.lit(context.run.run_id)
        frames = (parsed.turns_frame(), parsed.spans_frame(), parsed.arrivals_frame(), parsed.quarantine_frame())
        files = [wh.write_partition(table, "source", spec.name, frame.drop("source").with_columns(run_id=run))
                 for table, frame in zip(STAGED, frames, strict=True)]
        files.append(wh.write_partition("source_ingest_stats", "source", spec.name,
                                        pl.DataFrame([stats_row(resolved, parsed) | {"run_id": context.run.run_id}])))
        stats = summary(parsed)
        record_lineage(context, wh, input_fingerprints(resolved), files, stats["turns"] + stats["arrivals"])
        examples = quarantined_examples(parsed)
        all_rejected = stats["records_in"] > 0 and stats["records_accepted"] == 0
        check = dg.AssetCheckResult(
            check_name=ACCEPTED, passed=not all_rejected,
            description=(f"source {spec.name!r}: all {stats['records_in']} records were rejected (see the quarantine "
                         "table; the first ones below)") if all_rejected else None,
            metadata={"records_in": stats["records_in"], "records_accepted": stats["records_accepted"],
                      "records_quarantined": stats["records_quarantined"], "first_rejected": examples or "none"})
        return dg.MaterializeResult(check_results=[check], metadata={
            **{k: v for k, v in stats.items() if v is not None},
            "dagster/row_count": stats["turns"] + stats["arrivals"],
            "used_fallback": resolved.used_fallback,
            "notes": "; ".join(resolved.notes) or "none",
            "quarantined_examples": examples or "none",
        })

    return _asset


raw_assets = [_raw_asset(s) for s in SPECS]


def _require_config() -> None:
    if CONFIG_ERROR:
        raise dg.Failure(description=f"the source list is invalid, so no source was ingested:\n{CONFIG_ERROR}",
                         metadata={"error": CONFIG_ERROR})


def read_by_source(wh: Warehouse, table: str, schema: dict, required: bool = False) -> pl.DataFrame:
    """All configured sources' partitions of ``table``, with their ``source`` column."""
    return store_read(wh, table, [s.name for s in SPECS], schema, required)


def _write_by_source(context: dg.AssetExecutionContext, wh: Warehouse, table: str, df: pl.DataFrame, inputs: dict):
    run = pl.lit(context.run.run_id)
    files = [wh.write_partition(table, "source", s.name,
                                df.filter(pl.col("source") == s.name).drop("source").with_columns(run_id=run))
             for s in SPECS]
    record_lineage(context, wh, inputs, files, df.height)


@dg.asset(
    deps=RAW_KEYS, kinds={"duckdb", "parquet"},
    check_specs=[dg.AssetCheckSpec(name, asset="agent_turns", blocking=True, description=desc)
                 for name, desc in [*((n, d) for n, (d, _) in CHECKS.items()), (ACCOUNTING, ACCOUNTING_RULE)]],
)
def agent_turns(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    """One row per LLM call of every real trace (canonical turn: tokens, new input, LLM latency, gap before,
    tool time, tool calls, documented context resets, usage snapshots, and the file and line it came from).
    Traces that break the turn contract were quarantined at ingest; a check that still fails is a bug: it
    leaves the table as it was, lists the failing rows as FILE:LINE, and blocks the tables built from it."""
    _require_config()
    wh = warehouse.get()
    turns = read_by_source(wh, "staged_turns", TURN_SCHEMA, required=True)
    stats = read_by_source(wh, "source_ingest_stats", {}, required=True)
    quarantined = read_by_source(wh, "quarantine", QUARANTINE_SCHEMA, required=True).height
    outcomes = evaluate(turns, stats, quarantined)
    results = [dg.AssetCheckResult(check_name=o.name, passed=o.passed, metadata=o.metadata) for o in outcomes]
    if all(o.passed for o in outcomes):
        _write_by_source(context, wh, "agent_turns", turns, {"staged_turns": frame_fingerprint(turns)})
    else:
        failed = {o.name: o.metadata.get("rows", o.metadata) for o in outcomes if not o.passed}
        context.log.error(f"agent_turns checks failed; the agent_turns table was not written: {failed}")
    per_source = turns.group_by("source").agg(pl.len().alias("turns"), pl.col("trace_id").n_unique().alias("traces"),
                                              pl.col("prompt_tokens").median().alias("median_prompt"))
    return dg.MaterializeResult(check_results=results, metadata={
        "dagster/row_count": turns.height,
        "per_source": dg.MetadataValue.md(_md(per_source.sort("source"))),
    })


@dg.asset(deps=RAW_KEYS, kinds={"duckdb", "parquet"})
def tool_spans(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Every tool invocation of every real trace: tool name, start/end, duration, exit code, and resource
    telemetry (CPU, peak RSS, disk I/O) where the source records it."""
    _require_config()
    wh = warehouse.get()
    spans = read_by_source(wh, "staged_spans", SPAN_SCHEMA, required=True)
    _write_by_source(context, wh, "tool_spans", spans, {"staged_spans": frame_fingerprint(spans)})
    top = spans.group_by("tool_name").len().sort("len", descending=True).head(10)
    return dg.MaterializeResult(metadata={"dagster/row_count": spans.height, "top_tools": dg.MetadataValue.md(_md(top))})


@dg.asset(deps=RAW_KEYS, kinds={"duckdb", "parquet"})
def arrivals(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Request arrivals from arrival-only traces (Azure LLM inference CSV, Mooncake FAST'25 JSONL):
    ms from the file's first request, input and output tokens."""
    _require_config()
    wh = warehouse.get()
    df = read_by_source(wh, "staged_arrivals", ARRIVAL_SCHEMA, required=True)
    _write_by_source(context, wh, "arrivals", df, {"staged_arrivals": frame_fingerprint(df)})
    per_file = df.group_by("file").agg(pl.len().alias("requests"), pl.col("input_tokens").median().alias("median_input"),
                                       pl.col("output_tokens").median().alias("median_output"))
    return dg.MaterializeResult(metadata={"dagster/row_count": df.height, "per_file": dg.MetadataValue.md(_md(per_file))})


@dg.asset(deps=[agent_turns, tool_spans],
          kinds={"duckdb", "parquet"})
def agent_sessions(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """One row per real trace: turns, initial and largest prompt, token totals, LLM / tool / gap time,
    tool calls and errors, context resets."""
    wh = warehouse.get()
    turns, spans = read_by_source(wh, "agent_turns", TURN_SCHEMA), read_by_source(wh, "tool_spans", SPAN_SCHEMA)
    df = aggregate.sessions(turns, spans)
    _write_by_source(context, wh, "agent_sessions", df, {"agent_turns": frame_fingerprint(turns)})
    return dg.MaterializeResult(metadata={"dagster/row_count": df.height})


@dg.asset(deps=[agent_turns, tool_spans],
          kinds={"duckdb", "parquet"})
def openhands_trace_shapes(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Per-trajectory shape statistics of the OpenHands sources — turns, tokens per step, tool-call counts and
    mix, durations — with their medians as metadata (what a trace-shape report summarises)."""
    wh = warehouse.get()
    names = [s.name for s in SPECS if s.format.startswith("openhands")]
    turns = read_by_source(wh, "agent_turns", TURN_SCHEMA).filter(pl.col("source").is_in(names))
    spans = read_by_source(wh, "tool_spans", SPAN_SCHEMA).filter(pl.col("source").is_in(names))
    shapes = aggregate.openhands_trace_shapes(turns, spans)
    run = pl.lit(context.run.run_id)
    files = [wh.write_partition("openhands_trace_shapes", "source", n,
                                shapes.filter(pl.col("source") == n).drop("source").with_columns(run_id=run))
             for n in names]
    record_lineage(context, wh, {"agent_turns": frame_fingerprint(turns)}, files, shapes.height)
    return dg.MaterializeResult(metadata={"dagster/row_count": shapes.height,
                                          **{k: v for k, v in aggregate.shape_summary(shapes).items() if v is not None}})


def _md(df: pl.DataFrame) -> str:
    return md_table(df.columns, df.rows())
