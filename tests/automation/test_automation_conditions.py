"""The assets' automation conditions, evaluated with dg.evaluate_automation_conditions against recorded
materialisations: a new generator profile regenerates every seed's dataset and everything after it; nothing
new requests nothing; a newly added seed is filled in."""

from __future__ import annotations

from collections.abc import Iterator

import dagster as dg
import pytest

from agenttrace_pipeline.definitions import defs
from agenttrace_pipeline.defs.partitions import SEEDS

SEED_ASSETS = ["synthetic_dataset", "dataset_quality", "cache_simulation", "dataset_pages", "replay_run"]
pytestmark = pytest.mark.filterwarnings("ignore::dagster.BetaWarning")  # Dagster's own tester uses a beta parameter
REPORT = dg.AssetKey("benchmark_report")  # lands with the reports work; checked when it is in the graph


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as inst:
        inst.add_dynamic_partitions(SEEDS, ["1", "2", "3"])
        yield inst


def _materialized(instance: dg.DagsterInstance, key: str, partitions: list[str | None]) -> None:
    for p in partitions:
        instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=key, partition=p))


def _requested(result, key: str) -> set[str | None]:
    return set(result.get_requested_partitions(dg.AssetKey(key))) if result.get_num_requested(dg.AssetKey(key)) else set()


def test_a_new_profile_flows_on_to_every_seed_and_stage(instance: dg.DagsterInstance):
    d = defs()
    graph = d.resolve_asset_graph()
    _materialized(instance, "generator_profiles", [None])
    for key in SEED_ASSETS:
        _materialized(instance, key, ["1", "2", "3"])
    if graph.has(REPORT):
        _materialized(instance, REPORT.to_user_string(), [None])
    instance.add_dynamic_partitions(SEEDS, ["9"])  # a seed nobody materialised: it must not block the report
    settled = dg.evaluate_automation_conditions(defs=d, instance=instance)
    assert settled.total_requested == 0  # everything is up to date: nothing to do

    _materialized(instance, "generator_profiles", [None])  # the source-change refit wrote a new profile
    flowed = dg.evaluate_automation_conditions(defs=d, instance=instance, cursor=settled.cursor)
    for key in SEED_ASSETS:
        assert _requested(flowed, key) == {"1", "2", "3", "9"}, key
    if graph.has(REPORT):
        assert flowed.get_num_requested(REPORT) == 1
    assert flowed.get_num_requested(dg.AssetKey("distribution_fits")) == 0  # upstream is not re-run

    again = dg.evaluate_automation_conditions(defs=d, instance=instance, cursor=flowed.cursor)
    assert again.total_requested == 0  # requested once, not on every tick


def test_a_new_seed_is_filled_in_once_its_profile_exists(instance: dg.DagsterInstance):
    d = defs()
    _materialized(instance, "generator_profiles", [None])
    for key in SEED_ASSETS:
        _materialized(instance, key, ["1", "2", "3"])
    first = dg.evaluate_automation_conditions(defs=d, instance=instance)
    instance.add_dynamic_partitions(SEEDS, ["4"])
    after = dg.evaluate_automation_conditions(defs=d, instance=instance, cursor=first.cursor)
    for key in SEED_ASSETS:
        assert _requested(after, key) == {"4"}, key


def test_without_a_profile_nothing_is_generated(instance: dg.DagsterInstance):
    d = defs()
    first = dg.evaluate_automation_conditions(defs=d, instance=instance)
    instance.add_dynamic_partitions(SEEDS, ["5"])
    after = dg.evaluate_automation_conditions(defs=d, instance=instance, cursor=first.cursor)
    assert after.total_requested == 0  # generator_profiles was never materialised: eager waits for it
