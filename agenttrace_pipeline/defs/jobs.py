"""Jobs: the main job materialises every asset (and runs every check); the automation jobs refit after a
source change and regenerate weekly; the parallel job regenerates seeds one per run."""

import dagster as dg

materialize_all = dg.define_asset_job(
    "materialize_all",
    selection=dg.AssetSelection.all(),
    description="Every asset and check; for partitioned assets, the chosen seed partition.",
)

refit_from_sources = dg.define_asset_job(
    "refit_from_sources",
    selection=dg.AssetSelection.groups("sources", "fits"),
    description="Re-ingest sources and refit distributions and generator profiles. The source_change sensor "
    "narrows each run to the changed sources' raw assets and everything they feed in these two groups; "
    "automation conditions carry the new profiles on to datasets, simulations, replays and reports.",
)

# by group, so the reports group (benchmark_report) is included once it exists and tolerated while it does not
weekly_regeneration_job = dg.define_asset_job(
    "weekly_regeneration_job",
    selection=dg.AssetSelection.groups("sources", "fits", "synthesis", "analysis", "replay", "reports"),
    description="Refresh every source, refit, regenerate the newest seeds (one run over their range), "
    "re-simulate, re-replay against the default endpoint and re-report.",
)

regenerate_in_parallel = dg.define_asset_job(
    "regenerate_synthetic_datasets_in_parallel",
    selection=dg.AssetSelection.assets("synthetic_dataset", "dataset_quality"),
    executor_def=dg.multiprocess_executor,
    description="One seed per run, each step in its own process: start several runs at once (or a multi-run "
    "backfill) to generate seeds in parallel; writers never block each other on the lake.",
)


def parallel_regeneration_job() -> dg.JobDefinition:
    """The resolved job, for ``dg.reconstructable`` (the multiprocess executor re-imports it in each step)."""
    from agenttrace_pipeline.definitions import defs

    return defs().resolve_job_def(regenerate_in_parallel.name)
