"""Snapshot of what the code location defines, so nothing disappears unnoticed."""

from __future__ import annotations

import dagster as dg

from agenttrace_pipeline.definitions import defs

EXPECTED_ASSETS = {
    "mooncake_reference_traces": "sources",
    "synthetic_dataset": "synthesis",
    "dataset_quality": "synthesis",
}
EXPECTED_CHECKS = {
    ("mooncake_reference_traces", "reference_rows_match_trace_schema", True),
    ("synthetic_dataset", "rows_match_trace_schema", True),
    ("synthetic_dataset", "sessions_are_well_formed", True),
    ("synthetic_dataset", "hash_ids_keep_one_block_size", True),
    ("synthetic_dataset", "quality_within_tolerance", True),
}
EXPECTED_PARTITIONED = {"synthetic_dataset": "seeds", "dataset_quality": "seeds"}
EXPECTED_SCHEDULES = {"nightly_regeneration"}
EXPECTED_SENSORS = {"default_seed_partition"}
EXPECTED_JOBS = {"materialize_all", "regenerate_synthetic_datasets"}


def test_definitions_snapshot():
    d = defs()
    graph = d.resolve_asset_graph()
    assets = {k.to_user_string(): graph.get(k).group_name for k in graph.get_all_asset_keys()}
    assert assets == EXPECTED_ASSETS
    checks = {(k.asset_key.to_user_string(), k.name, graph.get_check_spec(k).blocking) for k in graph.asset_check_keys}
    assert checks == EXPECTED_CHECKS
    partitioned = {k.to_user_string(): graph.get(k).partitions_def for k in graph.get_all_asset_keys()
                   if graph.get(k).partitions_def is not None}
    assert {k: getattr(p, "name", type(p).__name__) for k, p in partitioned.items()} == EXPECTED_PARTITIONED
    assert {s.name for s in d.schedules or []} == EXPECTED_SCHEDULES
    assert {s.name for s in d.sensors or []} == EXPECTED_SENSORS
    assert EXPECTED_JOBS <= {j.name for j in d.resolve_all_job_defs()}


def test_local_runs_use_the_in_process_executor():
    job = defs().resolve_job_def("materialize_all")
    assert job.executor_def.name == dg.in_process_executor.name


def test_resources_default_to_the_project_warehouse():
    assert "warehouse" in defs().resources


def test_seed_partitions_backfill_in_one_run():
    graph = defs().resolve_asset_graph()
    for key in ("synthetic_dataset", "dataset_quality"):
        policy = graph.get(dg.AssetKey(key)).backfill_policy
        assert policy is not None and policy.max_partitions_per_run is None  # single_run
