"""Dagster's asset-check verdicts as warehouse rows (``check_results``), so SQL can ask which seeds failed.

A check evaluation names the run it ran in; the run's partition tags name its seeds (one key, or a range
resolved against the ``seeds`` partition set). A range run's verdict covers all its seeds, as Dagster
records one verdict per run for these checks.
"""

from datetime import UTC, datetime

import dagster as dg
import polars as pl

from agenttrace_pipeline.defs.partitions import SEEDS
from agenttrace_pipeline.store.tables import TABLES

HISTORY = 200  # evaluations read per check: enough for the latest verdict of every seed of a large backfill


def _seeds(run: dg.DagsterRun | None, order: list[str]) -> list[str | None]:
    tags = run.tags if run is not None else {}
    if "dagster/partition" in tags:
        return [tags["dagster/partition"]]
    lo, hi = tags.get("dagster/asset_partition_range_start"), tags.get("dagster/asset_partition_range_end")
    if lo in order and hi in order:
        return list[str | None](order[order.index(lo): order.index(hi) + 1])
    return [None]


def check_results(instance: dg.DagsterInstance, check_keys: list[dg.AssetCheckKey], seeded: set[dg.AssetKey],
                  run_id: str) -> pl.DataFrame:
    """The latest evaluation of every check in ``check_keys`` per seed (for checks of the ``seeded`` assets;
    one row with a NULL seed for the others), as ``check_results`` rows."""
    order = list(instance.get_dynamic_partitions(SEEDS))
    runs: dict[str, dg.DagsterRun | None] = {}
    latest: dict[tuple[str, str, str | None], dict] = {}
    for key in sorted(check_keys, key=lambda k: (k.asset_key.to_user_string(), k.name)):
        for rec in instance.event_log_storage.get_asset_check_execution_history(key, limit=HISTORY):
            ev = rec.event.dagster_event if rec.event is not None else None
            data = ev.event_specific_data if ev is not None else None
            if not isinstance(data, dg.AssetCheckEvaluation):
                continue  # planned, never evaluated (the step was skipped)
            if rec.run_id not in runs:
                runs[rec.run_id] = instance.get_run_by_id(rec.run_id)
            if key.asset_key not in seeded:
                seeds: list[str | None] = [None]
            else:
                seeds = [data.partition] if data.partition else _seeds(runs[rec.run_id], order)
            for seed in seeds:
                row_key = (key.asset_key.to_user_string(), key.name, seed)
                if row_key in latest:
                    continue  # history is newest first
                latest[row_key] = {
                    "asset_key": row_key[0], "check_name": key.name, "seed": seed, "passed": bool(data.passed),
                    "severity": str(getattr(data.severity, "value", data.severity)), "description": data.description,
                    "check_run_id": rec.run_id, "evaluated_at": datetime.fromtimestamp(rec.create_timestamp, UTC),
                    "run_id": run_id}
    return pl.DataFrame(list(latest.values()), schema=TABLES["check_results"].columns)
