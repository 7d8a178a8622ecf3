"""synthetic_dataset / dataset_quality materialised through Dagster into a temporary warehouse and instance."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import pytest

from agenttrace_pipeline.defs.partitions import seeds
from agenttrace_pipeline.defs.synthesis.assets import dataset_quality, synthetic_dataset
from agenttrace_pipeline.defs.synthesis.sensors import default_seed_partition
from agenttrace_pipeline.lib.warehouse import WarehouseResource
from agenttrace_pipeline.store.warehouse import Warehouse

RUN_CONFIG = {"ops": {"synthetic_dataset": {"config": {"num_sessions": 150}}}}


@pytest.fixture
def instance(isolated: Path):
    with dg.instance_for_test(temp_dir=str(isolated / "dagster_home")) as inst:
        inst.add_dynamic_partitions(seeds.name, ["42", "7", "8"])
        yield inst


def _run(instance, **kw):
    return dg.materialize([synthetic_dataset, dataset_quality], instance=instance, run_config=RUN_CONFIG,
                          resources={"warehouse": WarehouseResource()}, raise_on_error=False, **kw)


def test_one_seed_partition_with_checks_tables_and_lineage(instance, isolated: Path):
    for _ in range(2):  # a rerun replaces, never duplicates
        result = _run(instance, partition_key="42")
        assert result.success
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks == {"rows_match_trace_schema": True, "sessions_are_well_formed": True,
                      "hash_ids_keep_one_block_size": True, "quality_within_tolerance": True,
                      "generated_values_follow_configured_distributions": True}
    meta = result.asset_materializations_for_node("synthetic_dataset")[0].metadata
    assert "| new_tokens_per_turn |" in meta["quality"].value and meta["sessions"].value >= 150
    assert Path(meta["output"].value) == isolated / "outputs" / "synthetic" / "default_150s_seed42"
    wh = Warehouse()
    turns = wh.query("SELECT count(*) AS n, count(DISTINCT dataset_id) AS d, count(DISTINCT run_id) AS r FROM synthetic_turns")
    manifest_rows = wh.query("SELECT rows FROM synthetic_datasets").item()
    assert turns.row(0) == (manifest_rows, 1, 1)
    assert wh.query("SELECT count(*) FROM synthetic_sessions").item() == meta["sessions"].value
    q = wh.query("SELECT metric, pct_error_mean FROM dataset_quality WHERE target_mean IS NOT NULL")
    assert q.height == 4
    lineage = wh.query("SELECT asset_key, partition_key, count(*) AS n FROM lineage GROUP BY ALL ORDER BY 1")
    assert lineage.rows() == [("dataset_quality", "42", 2), ("synthetic_dataset", "42", 2)]


def test_a_seed_range_backfills_in_a_single_run(instance):
    tags = {"dagster/asset_partition_range_start": "7", "dagster/asset_partition_range_end": "8"}
    result = _run(instance, tags=tags)
    assert result.success
    seeds_written = Warehouse().query("SELECT DISTINCT seed FROM synthetic_datasets ORDER BY 1")["seed"].to_list()
    assert seeds_written == [7, 8]
    a, b = (Warehouse().query(f"SELECT dataset_sha256 FROM synthetic_datasets WHERE seed = {s}").item() for s in (7, 8))
    assert a != b  # each partition draws from its own seed


def test_a_failing_blocking_check_blocks_downstream_and_the_warehouse(instance, monkeypatch: pytest.MonkeyPatch):
    import agenttrace_pipeline.synth.checks as checks_module

    monkeypatch.setattr(checks_module, "quality_problems", lambda q: ["new_tokens_per_turn mean: off by 9 %"])
    result = _run(instance, partition_key="42")
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks["quality_within_tolerance"] is False
    assert not result.asset_materializations_for_node("dataset_quality")  # blocked
    assert not (Warehouse().lake / "synthetic_turns").exists()


def test_a_non_numeric_seed_is_a_clear_error(instance):
    instance.add_dynamic_partitions(seeds.name, ["abc"])
    result = _run(instance, partition_key="abc")
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    message = str(failure.event_specific_data.error)
    assert "bad seed 'abc'" in message and "agenttrace seeds remove abc" in message


def test_sensor_adds_the_default_seed(isolated: Path):
    with dg.instance_for_test() as inst:
        ctx = dg.build_sensor_context(instance=inst)
        res = default_seed_partition(ctx)
        assert [r.partition_keys for r in res.dynamic_partitions_requests] == [["42"]]


def _run_profile(instance, profile: Path, n: int = 60):
    run_config = {"ops": {"synthetic_dataset": {"config": {"num_sessions": n, "profile": str(profile)}}}}
    return dg.materialize([synthetic_dataset, dataset_quality], instance=instance, run_config=run_config,
                          resources={"warehouse": WarehouseResource()}, raise_on_error=False, partition_key="42")


def _step_failure(result) -> str:
    return str(next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE").event_specific_data.error)


def test_a_profile_named_to_escape_writes_inside_the_output_root(instance, isolated: Path):
    (isolated / "victim").mkdir()
    (isolated / "victim" / "keep.txt").write_text("precious")
    profile = isolated / "evil.json"
    profile.write_text('{"name": "../../../victim", "restart_initial_probability": 0}')
    result = _run_profile(instance, profile)
    assert result.success
    runs = sorted(p.name for p in (isolated / "outputs" / "synthetic").iterdir())
    assert runs == ["victim_60s_seed42"]
    assert sorted(p.name for p in (isolated / "victim").iterdir()) == ["keep.txt"]
    assert not list(isolated.parent.glob("victim*")) and not (isolated / "outputs" / "victim_60s_seed42").exists()


def test_a_broken_profile_fails_with_its_field_and_writes_nothing(instance, isolated: Path):
    profile = isolated / "typo.json"
    profile.write_text('{"max_promt_tokens": 90000}')
    result = _run_profile(instance, profile)
    assert not result.success
    assert "typo.json:1: (config): unknown field 'max_promt_tokens' (did you mean 'max_prompt_tokens'?)" in _step_failure(result)
    assert not (isolated / "outputs").exists()


def test_a_sampler_defect_fails_the_distribution_check(instance, isolated: Path, monkeypatch: pytest.MonkeyPatch):
    import numpy as np

    import agenttrace_pipeline.synth.distributions as distributions

    p = np.linspace(0, 1, 201)
    table = np.where(p <= 0.21, 1.0, np.interp(p, [0.21, 0.5, 1.0], [1.0, 224.5, 600.0])).tolist()
    profile = isolated / "table.json"
    profile.write_text(json.dumps({"generation_length": {"family": "empirical", "quantiles": table, "min": 1},
                                   "restart_initial_probability": 0}))
    assert _run_profile(instance, profile).success  # the sampler as it is: every check passes
    real = distributions._table_cdf
    monkeypatch.setattr(distributions, "_table_cdf", lambda q, x, left: real(q, x, False))  # issue 8's defect
    result = _run_profile(instance, profile)
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    failed = checks["generated_values_follow_configured_distributions"]
    assert failed.passed is False and "generation_length: KS" in failed.metadata["42"].value
    assert checks["quality_within_tolerance"].passed is False  # its target is computed without the sampler
    assert checks["rows_match_trace_schema"].passed  # the rows themselves are well-formed: only the new check sees it
    assert not result.asset_materializations_for_node("dataset_quality")
