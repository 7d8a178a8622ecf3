"""Every warehouse table, declared once: its partition column, its columns and what a row is.

Writes are checked against these declarations (missing, unexpected or mistyped columns fail with the table
and column named), an empty table is still written with its columns, and the DuckDB views are generated
from them, so a query names the same columns whether or not a table has data yet.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from agenttrace_pipeline.analysis.cache_study import STUDY_COLUMNS
from agenttrace_pipeline.fitting import schemas as fit_schemas
from agenttrace_pipeline.replay.options import SCHEMA as REPLAY_REQUESTS
from agenttrace_pipeline.replay.report import RUN_COLUMNS as REPLAY_RUNS
from agenttrace_pipeline.sources.canonical import ARRIVAL_SCHEMA, QUARANTINE_SCHEMA, SPAN_SCHEMA, TURN_SCHEMA

RUN: dict[str, pl.DataType] = {"run_id": pl.String()}
_DT = pl.Datetime("us", "UTC")


@dataclass(frozen=True)
class TableSpec:
    name: str
    partition: str  # the hive partition column (the folder ``<partition>=<value>``)
    columns: dict[str, pl.DataType]  # without the partition column
    description: str

    def empty(self) -> pl.DataFrame:
        return pl.DataFrame(schema=self.columns)


class SchemaMismatch(ValueError):
    """A frame written to a table does not have the table's declared columns."""


def _cols(columns: dict[str, pl.DataType]) -> dict[str, pl.DataType]:
    """A column declaration typed as such (mypy infers narrower dict types from literals)."""
    return columns


def _minus(schema: dict[str, pl.DataType], col: str) -> dict[str, pl.DataType]:
    return {k: v for k, v in schema.items() if k != col}


_TRACE_ROWS = {"line": pl.Int64(), "session_id": pl.String(), "turn": pl.Int32(), "input_length": pl.Int64(),
               "output_length": pl.Int64(), "hash_ids": pl.List(pl.Int64()), "timestamp": pl.Float64(),
               "delay": pl.Float64(), "group_id": pl.Int64(), "is_restart": pl.Boolean()}
_SPANS = _minus(SPAN_SCHEMA, "source") | RUN

_SPECS = [
    TableSpec("staged_turns", "source", _minus(TURN_SCHEMA, "source") | RUN,
              "Canonical turns as each source asset parsed them (before the checks)."),
    TableSpec("agent_turns", "source", _minus(TURN_SCHEMA, "source") | RUN,
              "Canonical turns (one per LLM call of a real trace) that passed the checks."),
    TableSpec("staged_spans", "source", _SPANS, "Tool spans as each source asset parsed them."),
    TableSpec("tool_spans", "source", _SPANS,
              "Tool invocations with timing, exit code and resource telemetry where the source has them."),
    TableSpec("staged_arrivals", "source", _minus(ARRIVAL_SCHEMA, "source") | RUN,
              "Arrival rows as each source asset parsed them."),
    TableSpec("arrivals", "source", _minus(ARRIVAL_SCHEMA, "source") | RUN,
              "Request arrivals of arrival-only traces (Azure, Mooncake): ms from the file's first request, tokens."),
    TableSpec("quarantine", "source", _minus(QUARANTINE_SCHEMA, "source") | RUN,
              "Every record a source adapter rejected: file, record (line or key), field, reason."),
    TableSpec("source_ingest_stats", "source",
              {"format": pl.String(), "records_in": pl.Int64(), "records_accepted": pl.Int64(),
               "records_quarantined": pl.Int64(), "api_error_records": pl.Int64(), "snapshot_turns": pl.Int64(),
               "quarantined_traces": pl.Int64(), "used_fallback": pl.Boolean(), "files": pl.String()} | RUN,
              "Per source: records read, accepted and quarantined, files, whether the bundled sample was used."),
    TableSpec("agent_sessions", "source",
              {"trace_id": pl.String(), "model": pl.String(), "turns": pl.UInt32(), "started_at": _DT,
               "initial_prompt_tokens": pl.Int64(), "max_prompt_tokens": pl.Int64(), "completion_tokens": pl.Int64(),
               "new_input_tokens": pl.Int64(), "cached_tokens": pl.Int64(), "llm_time_ms": pl.Float64(),
               "tool_time_ms": pl.Float64(), "gap_time_ms": pl.Float64(), "context_resets": pl.UInt32(),
               "tool_calls": pl.UInt32(), "tool_errors": pl.UInt32()} | RUN,
              "One row per real trace: turns, prompt sizes, token totals, LLM/tool/gap time, tool calls and errors."),
    TableSpec("openhands_trace_shapes", "source",
              {"trace_id": pl.String(), "turns": pl.UInt32(), "mean_prompt_tokens": pl.Float64(),
               "max_prompt_tokens": pl.Int64(), "mean_new_input_tokens": pl.Float64(),
               "mean_completion_tokens": pl.Float64(), "tool_calls": pl.Int32(), "llm_time_ms": pl.Float64(),
               "tool_time_ms": pl.Float64(), "started_at": _DT, "last_turn_at": _DT, "duration_ms": pl.Int64(),
               "tool_mix": pl.List(pl.Struct({"tool_name": pl.String(), "calls": pl.UInt32()}))} | RUN,
              "Per OpenHands trajectory: turns, tokens per step, tool-call counts and mix, durations."),
    TableSpec("distribution_fits", "source", _minus(fit_schemas.DISTRIBUTION_FITS, "source") | RUN,
              "Every candidate fit per (source, quantity): family, params, CI, AIC/BIC, in-sample and held-out KS."),
    TableSpec("generator_profiles", "run", fit_schemas.GENERATOR_PROFILES | RUN,
              "The exported generator profiles: name, source(s), path, config JSON, confidence, fit ids."),
    TableSpec("profile_roundtrip", "run", fit_schemas.PROFILE_ROUNDTRIP | RUN,
              "Round trip of each profile: two-sample KS between its source and generated sessions, held out too."),
    TableSpec("mooncake_reference_requests", "trace", _TRACE_ROWS | RUN,
              "Every request of every ingested reference Mooncake trace."),
    TableSpec("reference_cache_stats", "trace",
              _cols({"capacity_blocks": pl.Int64(), "requests": pl.Int64(), "input_tokens": pl.Int64(),
               "hit_tokens": pl.Int64(), "distinct_blocks": pl.Int64(), "hit_rate": pl.Float64()}) | RUN,
              "Theoretical prefix-cache hit rates per reference trace and capacity (NULL = infinite)."),
    TableSpec("synthetic_turns", "seed", _TRACE_ROWS | {"dataset_id": pl.String()} | RUN,
              "One row per request of every generated dataset."),
    TableSpec("synthetic_sessions", "seed",
              {"session_id": pl.String(), "group_id": pl.Int64(), "is_restart": pl.Boolean(), "turns": pl.Int64(),
               "initial_context": pl.Int64(), "end_reason": pl.String(), "timestamp": pl.Float64(),
               "total_delay_ms": pl.Float64(), "input_tokens": pl.Int64(), "output_tokens": pl.Int64(),
               "dataset_id": pl.String()} | RUN,
              "One row per generated session: group, restart flag, turns, initial context, end reason, totals."),
    TableSpec("synthetic_datasets", "seed",
              {"dataset_id": pl.String(), "profile": pl.String(), "num_sessions": pl.Int64(),
               "sessions_emitted": pl.Int64(), "restart_continuations": pl.Int64(), "rows": pl.Int64(),
               "path": pl.String(), "dataset_sha256": pl.String(), "config_sha256": pl.String(),
               "tool_version": pl.String()} | RUN,
              "One row per seed: the dataset's id, path, sha256, config digest and counts."),
    TableSpec("dataset_quality", "seed",
              {"metric": pl.String(), "target_mean": pl.Float64(), "observed_mean": pl.Float64(),
               "pct_error_mean": pl.Float64(), "target_median": pl.Float64(), "observed_median": pl.Float64(),
               "pct_error_median": pl.Float64(), "count": pl.Int64(), "std": pl.Float64(), "p05": pl.Float64(),
               "p95": pl.Float64(), "p99": pl.Float64(), "dataset_id": pl.String()} | RUN,
              "Target vs observed mean/median (and percentiles) of every metric of every generated dataset."),
]

_SPECS.append(TableSpec("cache_simulation", "seed", STUDY_COLUMNS | {"dataset_id": pl.String()} | RUN,
                        "KV-cache simulation of each seed's dataset: hit and miss tokens per (semantics, policy, "
                        "capacity, replicas, routing, tier, layer), TTFT percentiles."))

_SPECS.append(TableSpec("replay_requests", "seed", dict(REPLAY_REQUESTS) | {"replay_id": pl.String(),
                        "dataset_id": pl.String()} | RUN,
                        "Every request of every replay: target and actual send time, lateness, TTFT, ITL gaps, "
                        "end-to-end latency, prompt/completion/cached tokens, finish reason, status, error class."))
_SPECS.append(TableSpec("replay_runs", "seed", _minus(REPLAY_RUNS, "seed"),
                        "One row per replay: endpoint identity (never its key), mode, percentiles, throughput, "
                        "goodput, lateness, and the three hit rates (simulator, server counters, usage)."))
_SPECS.append(TableSpec("check_results", "run", {
    "asset_key": pl.String(), "check_name": pl.String(), "seed": pl.String(), "passed": pl.Boolean(),
    "severity": pl.String(), "description": pl.String(), "check_run_id": pl.String(), "evaluated_at": _DT} | RUN,
    "The latest verdict of every asset check per seed (NULL seed: an unpartitioned asset), copied from Dagster's "
    "event log by the benchmark_report asset."))

TABLES: dict[str, TableSpec] = {s.name: s for s in _SPECS}

LINEAGE_COLUMNS: dict[str, pl.DataType] = {
    "asset_key": pl.String(), "partition_key": pl.String(), "run_id": pl.String(), "code_version": pl.String(),
    "input_fingerprints": pl.String(), "output_fingerprint": pl.String(), "row_count": pl.Int64(),
    "output_paths": pl.String(), "materialized_at": _DT,
}


def spec(table: str) -> TableSpec:
    try:
        return TABLES[table]
    except KeyError:
        raise SchemaMismatch(f"unknown warehouse table {table!r}; declare it in agenttrace_pipeline/store/tables.py") from None


def conform(table: str, column: str, df: pl.DataFrame) -> pl.DataFrame:
    """``df`` with the declared columns of ``table`` in order and type; raises :class:`SchemaMismatch`."""
    s = spec(table)
    if column != s.partition:
        raise SchemaMismatch(f"{table}: partitioned by {s.partition!r}, not {column!r}")
    missing = [c for c in s.columns if c not in df.columns]
    extra = [c for c in df.columns if c not in s.columns]
    if missing or extra:
        raise SchemaMismatch(f"{table}: columns differ from the declaration in store/tables.py "
                             f"(missing {missing}, unexpected {extra})")
    try:
        return df.select(list(s.columns)).cast(s.columns, strict=True)  # type: ignore[arg-type]
    except pl.exceptions.PolarsError as exc:
        bad = [c for c, t in s.columns.items() if df.schema[c] != t]
        raise SchemaMismatch(f"{table}: column(s) {bad} cannot take their declared types ({exc})") from None
