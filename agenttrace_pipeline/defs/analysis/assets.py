"""KV-cache simulation and the offline pages of each seed's dataset (wiring only: the work is in
analysis/cache_study.py and reports/)."""

from pathlib import Path

import dagster as dg
import polars as pl
from pydantic import Field

from agenttrace_pipeline.analysis.cache_study import (
    DEFAULT_CAPACITIES,
    DEFAULT_CONCURRENCY,
    DEFAULT_POLICIES,
    StudyOptions,
    run_study,
)
from agenttrace_pipeline.defs.partitions import seeds
from agenttrace_pipeline.lib.warehouse import WarehouseResource, record_lineage
from agenttrace_pipeline.redact import md_table
from agenttrace_pipeline.store.atomic import sha256_file


class CacheSimulationConfig(dg.Config):
    semantics: str = Field(default="simple", description="simple (FAST'25 leading run) or vllm (chained full blocks).")
    policies: list[str] = Field(default_factory=lambda: list(DEFAULT_POLICIES),
                                description="Eviction policies: lru, fifo, lfu, s3fifo, ttl, session-lru.")
    capacities: list[int] = Field(default_factory=lambda: list(DEFAULT_CAPACITIES),
                                  description="Cache sizes in blocks per replica (the infinite cache is always added).")
    concurrency: int = Field(default=DEFAULT_CONCURRENCY, ge=0,
                             description="Sessions in flight (closed loop, gives TTFT); 0: file order, no timing.")
    replicas: int = Field(default=1, ge=1)
    routing: str = Field(default="round-robin")


@dg.asset(
    partitions_def=seeds,
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=["synthetic_dataset"],
    automation_condition=dg.AutomationCondition.eager(),
    kinds={"duckdb", "parquet"},
)
def cache_simulation(context: dg.AssetExecutionContext, config: CacheSimulationConfig,
                     warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Each seed's dataset simulated through a KV cache: hit rate per policy and capacity (with the theoretical
    infinite-cache rate), by prefix layer (L1, L1.5, L2, L3) and tier, with TTFT percentiles from the engine cost
    model under ``concurrency`` sessions in flight. Table ``cache_simulation``; the curve as UI metadata."""
    wh = warehouse.get()
    opts = StudyOptions(semantics=config.semantics, policies=tuple(config.policies), capacities=tuple(config.capacities),
                        concurrency=config.concurrency, replicas=config.replicas, routing=config.routing)
    curve, theo, rows = None, {}, 0
    for key in context.partition_keys:
        ds = wh.read_partition("synthetic_datasets", key)
        if ds is None:
            raise dg.Failure(f"seed {key}: no synthetic_datasets row; materialise synthetic_dataset first")
        info = ds.row(0, named=True)
        context.log.info(f"seed {key}: simulating {len(opts.run_configs()) + 1} cache configurations")
        study = run_study(f"{info['path']}/dataset.jsonl", opts)
        frame = study.table.with_columns(dataset_id=pl.lit(info["dataset_id"]), run_id=pl.lit(context.run.run_id))
        f = wh.write_partition("cache_simulation", "seed", key, frame)
        record_lineage(context, wh, {"dataset": info["dataset_sha256"]}, [f], frame.height, partition_key=key)
        curve, theo[key], rows = study.curve(), study.theoretical_hit_rate, rows + frame.height
        pages = Path(info["path"]) / "report.html"
    meta: dict = {"dagster/row_count": rows, "seeds": list(context.partition_keys),
                  "theoretical_hit_rate": {k: round(v or 0.0, 4) for k, v in theo.items()}}
    if curve is not None:
        meta["pages"] = dg.MetadataValue.path(str(pages))  # written by dataset_pages
        meta["hit_rate_curve"] = dg.MetadataValue.md(md_table(
            ["policy", "capacity (blocks)", "hit rate", "TTFT p50 ms", "TTFT p99 ms"],
            [(r["policy"], "infinite" if r["capacity_blocks"] is None else f"{r['capacity_blocks']:,}",
              f"{r['hit_rate']:.2%}", _ms(r["ttft_p50_ms"]), _ms(r["ttft_p99_ms"])) for r in curve.iter_rows(named=True)]))
    return dg.MaterializeResult(metadata=meta)


def _ms(v: float | None) -> str:
    return "–" if v is None else f"{v:,.0f}"


@dg.asset(
    partitions_def=seeds,
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=["synthetic_dataset"],
    automation_condition=dg.AutomationCondition.eager(),
    kinds={"html"},
)
def dataset_pages(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """The three offline pages of each seed's dataset, in its run directory: ``report.html`` (every targeted
    distribution against its law, context growth, end reasons, cache reuse per turn, the hit-rate curve by
    layer), ``cache_explorer.html`` (the block map of any session) and ``simulation.html`` (an interactive
    KV-cache simulation in the browser)."""
    from agenttrace_pipeline.reports import write_pages

    wh = warehouse.get()
    meta: dict = {"seeds": list(context.partition_keys)}
    for key in context.partition_keys:
        ds = wh.read_partition("synthetic_datasets", key)
        if ds is None:
            raise dg.Failure(f"seed {key}: no synthetic_datasets row; materialise synthetic_dataset first")
        info = ds.row(0, named=True)
        res = write_pages(Path(info["path"]))
        context.log.info(f"seed {key}: {len(res.paths)} pages, {res.bytes / 1e6:.1f} MB in {res.seconds:.1f} s")
        record_lineage(context, wh, {"dataset": info["dataset_sha256"]}, [], 0,
                       {str(p): sha256_file(p) for p in res.paths}, partition_key=key)
        meta |= {f"{p.stem}": dg.MetadataValue.path(str(p)) for p in res.paths}
        meta["bytes"] = res.bytes
    return dg.MaterializeResult(metadata=meta)
