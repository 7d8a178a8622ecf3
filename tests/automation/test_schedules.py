"""The weekly regeneration and the one switch (AGENTTRACE_AUTOMATION) that starts schedules and sensors."""

from __future__ import annotations

import ast
import datetime as dt
import os
import subprocess
import sys

import dagster as dg
import pytest

from agenttrace_pipeline.definitions import defs
from agenttrace_pipeline.defs.automation.schedules import weekly_regeneration
from agenttrace_pipeline.defs.partitions import SEEDS


def test_weekly_run_covers_the_newest_seeds_as_one_range(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AGENTTRACE_WEEKLY_SEEDS", "3")
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(SEEDS, ["42", "7", "1", "2", "3"])  # newest = added last
        ctx = dg.build_schedule_context(instance=instance, scheduled_execution_time=dt.datetime(2026, 11, 22, 4, tzinfo=dt.UTC))
        request = weekly_regeneration(ctx)
    assert request.tags["dagster/asset_partition_range_start"] == "1"
    assert request.tags["dagster/asset_partition_range_end"] == "3"
    assert request.tags["agenttrace/seeds"] == "1,2,3"
    assert request.run_key == "weekly-20261122"  # one run per week, however often the tick is retried


def test_weekly_run_skips_without_seeds():
    with dg.instance_for_test() as instance:
        result = weekly_regeneration(dg.build_schedule_context(instance=instance))
    assert isinstance(result, dg.SkipReason) and "no seed partitions" in result.skip_message


def test_weekly_seed_count_must_be_a_positive_number(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AGENTTRACE_WEEKLY_SEEDS", "many")
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(SEEDS, ["1"])
        with pytest.raises(Exception, match="AGENTTRACE_WEEKLY_SEEDS='many'"):
            weekly_regeneration(dg.build_schedule_context(instance=instance))


def test_weekly_job_refreshes_refits_and_regenerates_every_stage():
    d = defs()
    graph = d.resolve_asset_graph()
    job = d.resolve_job_def("weekly_regeneration_job")
    selected = {k.to_user_string() for k in job.asset_layer.selected_asset_keys}
    assert {"agent_turns", "mooncake_reference_traces", "distribution_fits", "generator_profiles", "synthetic_dataset",
            "dataset_quality", "cache_simulation", "dataset_pages", "replay_run"} <= selected
    assert any(k.endswith("_raw") for k in selected)
    assert ("benchmark_report" in selected) == graph.has(dg.AssetKey("benchmark_report"))
    assert job.executor_def.name == dg.in_process_executor.name


_STATUSES = """
from agenttrace_pipeline.definitions import defs
d = defs()
print(sorted((s.name, s.default_status.value) for s in [*d.schedules, *d.sensors]))
"""


@pytest.mark.parametrize("value, expected", [("", "STOPPED"), ("1", "RUNNING")])
def test_automation_switch(value: str, expected: str):
    env = {**os.environ, "AGENTTRACE_AUTOMATION": value}
    out = subprocess.run([sys.executable, "-c", _STATUSES], capture_output=True, text=True, env=env, check=True).stdout
    statuses = dict(ast.literal_eval(out))
    for name in ("nightly_regeneration", "weekly_regeneration", "source_change", "automation_conditions"):
        assert statuses[name] == expected, (name, statuses)
    assert statuses["default_seed_partition"] == "RUNNING"  # it only adds seed 42, never starts runs
