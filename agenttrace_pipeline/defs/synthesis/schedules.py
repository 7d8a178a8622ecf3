"""Scheduled regeneration of every seed's synthetic dataset (stopped unless AGENTTRACE_AUTOMATION=1: turn it on in the UI)."""

import dagster as dg

from agenttrace_pipeline.defs.automation.status import schedule_status
from agenttrace_pipeline.defs.partitions import SEEDS, seeds

regenerate_job = dg.define_asset_job(
    "regenerate_synthetic_datasets",
    selection=dg.AssetSelection.assets("synthetic_dataset", "dataset_quality"),
    partitions_def=seeds,
)


@dg.schedule(job=regenerate_job, cron_schedule="0 3 * * *", default_status=schedule_status())
def nightly_regeneration(context: dg.ScheduleEvaluationContext):
    """Every night at 03:00, one run per seed partition (after a code or profile change, datasets follow)."""
    keys = context.instance.get_dynamic_partitions(SEEDS)
    if not keys:
        return dg.SkipReason("no seed partitions yet")
    return [dg.RunRequest(run_key=f"{context.scheduled_execution_time:%Y%m%d}-{k}", partition_key=k) for k in keys]
