"""The weekly regeneration end to end: the schedule's run request executed as the daemon would (in process
here), over the bundled samples: sources refreshed, refit, and the newest seeds regenerated, simulated,
paged and replayed against the default endpoint; older seeds left alone."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dagster as dg
import pytest

from agenttrace_pipeline.definitions import defs
from agenttrace_pipeline.defs.automation.schedules import weekly_regeneration
from agenttrace_pipeline.defs.partitions import SEEDS
from agenttrace_pipeline.store.warehouse import Warehouse

pytestmark = pytest.mark.slow


def test_weekly_run_regenerates_the_newest_seeds_through_every_stage(isolated: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AGENTTRACE_WEEKLY_SEEDS", "2")
    monkeypatch.setenv("AGENTTRACE_SHARED_DATA", str(isolated / "no_shared_data"))  # the bundled samples: fast
    (isolated / "no_shared_data").mkdir()
    with dg.instance_for_test(temp_dir=str(isolated / "dagster_home")) as instance:
        instance.add_dynamic_partitions(SEEDS, ["1", "2", "3"])
        request = weekly_regeneration(dg.build_schedule_context(
            instance=instance, scheduled_execution_time=dt.datetime(2026, 11, 22, 4, tzinfo=dt.UTC)))
        job = defs().resolve_job_def("weekly_regeneration_job")
        result = job.execute_in_process(instance=instance, tags=request.tags, raise_on_error=False,
                                        run_config={"ops": {"synthetic_dataset": {"config": {"num_sessions": 100}}}})
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    done = {(e.asset_key.to_user_string(), e.partition) for e in result.get_asset_materialization_events()}
    for stage in ("synthetic_dataset", "dataset_quality", "cache_simulation", "dataset_pages", "replay_run"):
        assert {p for k, p in done if k == stage} == {"2", "3"}, stage
    assert {("generator_profiles", None), ("agent_turns", None), ("benchmark_report", None)} <= done  # refit, re-report
    wh = Warehouse()
    assert sorted(wh.partition_values("replay_runs")) == ["2", "3"]
    assert sorted(wh.partition_values("cache_simulation")) == ["2", "3"]
