"""Reference Mooncake traces → warehouse tables ``mooncake_reference_requests`` and ``reference_cache_stats``."""


from pathlib import Path

import dagster as dg
import polars as pl
from pydantic import Field

from agenttrace_pipeline import settings
from agenttrace_pipeline.lib.warehouse import WarehouseResource, record_lineage
from agenttrace_pipeline.redact import md_table, redact
from agenttrace_pipeline.sources.download import FetchPolicy
from agenttrace_pipeline.sources.mooncake_reference import (
    ingest_reference_trace,
    load_reference_config,
    resolve_specs,
)
from agenttrace_pipeline.store.atomic import sha256_file
from agenttrace_pipeline.trace.schema import trace_table_schema

REQUESTS_TABLE = "mooncake_reference_requests"
STATS_TABLE = "reference_cache_stats"


class ReferenceTracesConfig(dg.Config):
    config_file: str = Field(
        default="assets_config/reference_traces.json",
        description="Trace list (relative to the project root or absolute).",
    )
    extra_locations: list[str] = Field(
        default_factory=list,
        description="More traces to ingest: local paths or http(s) URLs; named after the file stem.",
    )
    offline: bool = Field(default=False, description="Use only the download cache for URLs.")


def _config_path(value: str) -> Path:
    p = Path(value)
    return p if p.is_absolute() else settings.PROJECT_ROOT / p


@dg.asset(kinds={"duckdb", "parquet"})
def mooncake_reference_traces(
    context: dg.AssetExecutionContext, config: ReferenceTracesConfig, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """External Mooncake traces (by default the FAST'25 conversation and synthetic traces), validated
    row by row and across rows, with their theoretical prefix-cache hit rates (infinite cache and block
    LRUs). Every trace is validated before anything is written: an invalid trace fails the run and leaves
    the warehouse as it was."""
    cfg_path = _config_path(config.config_file)
    cfg = load_reference_config(cfg_path)
    specs, skipped = resolve_specs(cfg, config.extra_locations)
    for spec in skipped:
        context.log.warning(f"reference trace {spec.name!r} skipped: {redact(spec.location)} is not present")
    policy = FetchPolicy(offline=config.offline)
    ingested = []
    for spec in specs:
        context.log.info(f"ingesting {spec.name} from {redact(spec.location)}")
        ingested.append(ingest_reference_trace(spec, cfg.block_size, cfg.lru_capacities, policy))

    wh = warehouse.get()
    files, rows, hit_rates = [], 0, {}
    for it in ingested:
        run_id = pl.lit(context.run.run_id)
        files.append(wh.write_partition(REQUESTS_TABLE, "trace", it.spec.name, it.table.with_columns(run_id=run_id)))
        files.append(wh.write_partition(STATS_TABLE, "trace", it.spec.name, it.stats_frame().with_columns(run_id=run_id)))
        rows += it.table.height
        hit_rates[it.spec.name] = it.infinite_hit_rate
    inputs = {"config": sha256_file(cfg_path)} | {f"trace:{it.spec.name}": it.sha256 for it in ingested}
    rec = record_lineage(context, wh, inputs, files, rows)

    table = md_table(["trace", "requests", "infinite-cache hit", *(f"LRU {c}" for c in cfg.lru_capacities)],
                     [(it.spec.name, f"{it.table.height:,}", f"{it.infinite_hit_rate:.1%}",
                       *(f"{s.hit_rate:.1%}" for s in it.hit_stats[1:])) for it in ingested])
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": rows,
            "traces": [it.spec.name for it in ingested],
            "skipped": [s.name for s in skipped],
            "hit_rates": dg.MetadataValue.md(table),
            **{f"hit_rate/{k}": dg.MetadataValue.float(v) for k, v in hit_rates.items()},
            "warehouse": dg.MetadataValue.path(wh.store.url),
            "output_fingerprint": rec.output_fingerprint,
        }
    )


@dg.asset_check(asset=mooncake_reference_traces, blocking=True)
def reference_rows_match_trace_schema(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """Every stored reference trace passes the pandera trace-table schema."""
    wh = warehouse.get()
    failures: dict[str, str] = {}
    counts: dict[str, int] = {}
    for name in wh.partition_values(REQUESTS_TABLE):
        part = wh.read_partition(REQUESTS_TABLE, name)
        if part is None:  # removed since it was listed
            continue
        df = part.drop("run_id")
        counts[name] = df.height
        try:
            trace_table_schema().validate(df, lazy=True)
        except Exception as exc:  # pandera SchemaErrors: report, don't crash the check
            failures[name] = str(exc)[:2000]
    return dg.AssetCheckResult(
        passed=bool(counts) and not failures,
        metadata={"rows": counts, "failures": failures or "none"},
    )
