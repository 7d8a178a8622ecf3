"""The project's definitions for a Celery deployment (the code location of deploy/workspace.yaml).

Everything ``agenttrace_pipeline.definitions`` defines, with two changes made here so the project's own code
location stays light (no Celery import, in-process executor for development):

* executor: ``dagster_celery.celery_executor``, broker and result backend from AGENTTRACE_CELERY_BROKER and
  AGENTTRACE_CELERY_BACKEND, so every step of every run goes to the Celery queue and any worker takes it;
* backfill policy: every seed-partitioned asset gets ``BackfillPolicy.multi_run(1)``, so a backfill of N seeds
  is N runs whose steps spread over the workers (the project's assets declare ``single_run`` for one machine).

Workers import this file by its path (the runs' code pointer), so the path must be the same on every machine.
"""

from __future__ import annotations

import dagster as dg
from dagster_celery import celery_executor

# the module, not its `defs`: a second definitions object at module level would be the one Dagster loads
from agenttrace_pipeline import definitions as project

ONE_SEED_PER_RUN = dg.BackfillPolicy.multi_run(max_partitions_per_run=1)
CELERY = celery_executor.configured(
    {"broker": {"env": "AGENTTRACE_CELERY_BROKER"}, "backend": {"env": "AGENTTRACE_CELERY_BACKEND"}},
    name="celery",
)


def _one_seed_per_run(asset):
    if isinstance(asset, dg.AssetsDefinition) and asset.partitions_def is not None and asset.is_executable:
        return asset.with_attributes(backfill_policy=ONE_SEED_PER_RUN)
    return asset


def celery_defs() -> dg.Definitions:
    """The project's assets, checks, jobs, schedules, sensors and resources on the Celery executor."""
    base = project.defs()
    return dg.Definitions(
        assets=[_one_seed_per_run(a) for a in base.assets or []], asset_checks=base.asset_checks, jobs=base.jobs,
        schedules=base.schedules, sensors=base.sensors, resources=base.resources, executor=CELERY,
    )


defs = celery_defs()
