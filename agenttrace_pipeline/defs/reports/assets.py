"""The benchmark report (wiring only: the views and the page are in reports/benchmark*.py).

It reads the lake, not Dagster outputs: every upstream asset returns a ``MaterializeResult`` and writes the
lake itself, so there is no IO-manager value to load. Its deps on the seed-partitioned assets use
``AllPartitionMapping`` (the default for an unpartitioned asset, spelled out here): the report depends on
every seed, so a new or rematerialised seed makes it stale, and in a one-seed run of the main job it runs
after that seed's steps and shows every seed the lake holds.
"""

import dagster as dg

from agenttrace_pipeline.lib.warehouse import WarehouseResource, record_lineage

SEEDED = ("synthetic_dataset", "dataset_quality", "cache_simulation", "dataset_pages", "replay_run")


@dg.asset(
    deps=[*(dg.AssetDep(k, partition_mapping=dg.AllPartitionMapping()) for k in SEEDED), "generator_profiles",
          "distribution_fits", "mooncake_reference_traces"],
    kinds={"duckdb", "html"},
)
def benchmark_report(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Every stage joined through its ids (sources → fits → profiles → datasets → simulations → replays) in
    ``outputs/reports/benchmark_report.html``: fidelity per quantity (in sample and held out), hit-rate curves
    simulated and measured, latency percentiles per endpoint and seed, simulated-vs-real comparisons, and each
    seed's lineage back to the sha256 of its source files. The key tables are shown here as metadata."""
    from agenttrace_pipeline.reports.benchmark import build_report, key_tables

    wh = warehouse.get()
    rep = build_report(wh)
    context.log.info(f"benchmark report: {rep.bytes / 1e3:.0f} kB in {rep.seconds:.2f} s")
    record_lineage(context, wh, rep.data.fingerprints, [], rep.data["hit_rates"].height, {str(rep.path): rep.sha256})
    tables = {k: dg.MetadataValue.md(v) for k, v in key_tables(rep.data).items()}
    return dg.MaterializeResult(metadata={
        "report": dg.MetadataValue.path(str(rep.path)), "output": dg.MetadataValue.path(str(rep.path)),
        "dagster/row_count": rep.data["hit_rates"].height, "seeds": rep.data["dataset_sources"]["seed"].n_unique(),
        "bytes": rep.bytes, **tables})
