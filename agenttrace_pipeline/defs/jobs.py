"""Jobs: the main job materialises every asset (and runs every check)."""

import dagster as dg

materialize_all = dg.define_asset_job(
    "materialize_all",
    selection=dg.AssetSelection.all(),
    description="Every asset and check; for partitioned assets, the chosen seed partition.",
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
