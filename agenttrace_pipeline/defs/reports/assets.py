"""The benchmark report (wiring only: the views and the page are in reports/benchmark*.py).

It reads the lake, not Dagster outputs: every upstream asset returns a ``MaterializeResult`` and writes the
lake itself, so there is no IO-manager value to load. Its deps on the seed-partitioned assets use
``AllPartitionMapping`` (the default for an unpartitioned asset, spelled out here): the report depends on
every seed, so a new or rematerialised seed makes it stale, and in a one-seed run of the main job it runs
after that seed's steps and shows every seed the lake holds.
"""

import dagster as dg
import polars as pl

from agenttrace_pipeline.defs.reports.checks import check_results
from agenttrace_pipeline.lib.warehouse import WarehouseResource, record_lineage

SEEDED = ("synthetic_dataset", "dataset_quality", "cache_simulation", "dataset_pages", "replay_run")


def _checks_in_scope(context: dg.AssetExecutionContext) -> tuple[list[dg.AssetCheckKey], set[dg.AssetKey]]:
    """Every check of the code location and the partitioned assets: the run's job has them all unless it is
    a subset (e.g. only this asset materialised from the UI); then the definitions are resolved again."""
    graph = context.job_def.asset_layer.asset_graph
    if not graph.asset_check_keys:
        from agenttrace_pipeline.definitions import defs

        graph = defs().resolve_asset_graph()
    seeded = {k for k in graph.get_all_asset_keys() if graph.get(k).partitions_def is not None}
    return sorted(graph.asset_check_keys), seeded


@dg.asset(
    deps=[*(dg.AssetDep(k, partition_mapping=dg.AllPartitionMapping()) for k in SEEDED), "generator_profiles",
          "distribution_fits", "mooncake_reference_traces"],
    kinds={"duckdb", "html"},
    # eager, but a seed never materialised must not hold the report back forever
    automation_condition=dg.AutomationCondition.eager().without(~dg.AutomationCondition.any_deps_missing()),
)
def benchmark_report(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Every stage joined through its ids (sources → fits → profiles → datasets → simulations → replays) in
    ``outputs/reports/benchmark_report.html``: fidelity per quantity (in sample and held out), hit-rate curves
    simulated and measured, latency percentiles per endpoint and seed, simulated-vs-real comparisons, and each
    seed's lineage back to the sha256 of its source files. The key tables are shown here as metadata."""
    from agenttrace_pipeline.reports.benchmark import build_report, key_tables

    wh = warehouse.get()
    checks = check_results(context.instance, *_checks_in_scope(context), context.run.run_id)
    checks_file = wh.write_partition("check_results", "run", "latest", checks)
    rep = build_report(wh, checks=checks.sort("seed", "asset_key", "check_name", nulls_last=True))
    context.log.info(f"benchmark report: {rep.bytes / 1e3:.0f} kB in {rep.seconds:.2f} s")
    failed = checks.filter(~pl.col("passed"))
    record_lineage(context, wh, rep.data.fingerprints, [checks_file], rep.data["hit_rates"].height,
                   {str(rep.path): rep.sha256})
    tables = {k: dg.MetadataValue.md(v) for k, v in key_tables(rep.data).items()}
    return dg.MaterializeResult(metadata={
        "report": dg.MetadataValue.path(str(rep.path)), "output": dg.MetadataValue.path(str(rep.path)),
        "dagster/row_count": rep.data["hit_rates"].height, "seeds": rep.data["dataset_sources"]["seed"].n_unique(),
        "bytes": rep.bytes, "failed_checks": failed.height, **tables})
