"""The weekly regeneration: every Sunday at 04:00 UTC, one run that refreshes the sources, refits, and
regenerates, re-simulates, re-replays and re-reports the newest seeds (``AGENTTRACE_WEEKLY_SEEDS``, default 4)."""

import dagster as dg

from agenttrace_pipeline import settings
from agenttrace_pipeline.defs.automation.status import schedule_status
from agenttrace_pipeline.defs.jobs import weekly_regeneration_job
from agenttrace_pipeline.defs.partitions import SEEDS

RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"


def newest_seeds(keys: list[str], count: int) -> list[str]:
    """The last ``count`` seed partitions (dynamic partitions keep the order they were added in)."""
    return keys[-count:]


@dg.schedule(job=weekly_regeneration_job, cron_schedule="0 4 * * 0", execution_timezone="UTC",
             default_status=schedule_status())
def weekly_regeneration(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    """One run over the range of the newest seeds (the seed assets backfill a range in one run); the
    unpartitioned source and fit assets run once in it. The replay uses the ``endpoint`` resource's default."""
    keys = list(context.instance.get_dynamic_partitions(SEEDS))
    if not keys:
        return dg.SkipReason("no seed partitions yet (add some with `agenttrace seeds add` or in the UI)")
    seeds = newest_seeds(keys, settings.weekly_seeds())
    return dg.RunRequest(
        run_key=f"weekly-{context.scheduled_execution_time:%Y%m%d}",
        tags={RANGE_START: seeds[0], RANGE_END: seeds[-1], "agenttrace/seeds": ",".join(seeds)},
    )
