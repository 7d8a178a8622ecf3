"""Snapshot of what the code location defines, so nothing disappears unnoticed."""

from __future__ import annotations

import dagster as dg

from agenttrace_pipeline.definitions import defs

SOURCE_NAMES = ["agenttrace", "mini_swe_agent_chat", "mini_swe_agent_reasoner", "openhands_multi_swe_bench",
                "openhands_agentsafety", "claude_code_tracelab", "tracelab_rounds", "azure_2023", "mooncake_fast25"]
EXPECTED_ASSETS = {
    "mooncake_reference_traces": "sources",
    **{f"{name}_raw": "sources" for name in SOURCE_NAMES},
    "agent_turns": "sources",
    "tool_spans": "sources",
    "arrivals": "sources",
    "agent_sessions": "sources",
    "openhands_trace_shapes": "sources",
    "distribution_fits": "fits",
    "generator_profiles": "fits",
    "synthetic_dataset": "synthesis",
    "dataset_quality": "synthesis",
    "cache_simulation": "analysis",
    "dataset_pages": "analysis",
    "replay_run": "replay",
    "benchmark_report": "reports",
}
EXPECTED_CHECKS = {
    ("mooncake_reference_traces", "reference_rows_match_trace_schema", True),
    ("synthetic_dataset", "rows_match_trace_schema", True),
    ("synthetic_dataset", "sessions_are_well_formed", True),
    ("synthetic_dataset", "hash_ids_keep_one_block_size", True),
    ("synthetic_dataset", "quality_within_tolerance", True),
    ("synthetic_dataset", "generated_values_follow_configured_distributions", True),
    ("agent_turns", "tokens_are_non_negative", True),
    ("agent_turns", "turn_indexes_are_contiguous", True),
    ("agent_turns", "timestamps_are_monotone_within_a_trace", True),
    ("agent_turns", "prompt_tokens_grow_except_at_context_resets", True),
    ("agent_turns", "quarantine_accounts_for_every_record", True),
    ("distribution_fits", "every_quantity_has_a_chosen_fit", True),
    ("distribution_fits", "chosen_fits_within_ks_threshold", False),
    ("generator_profiles", "profile_roundtrip_within_targets", False),
    *((f"{name}_raw", "some_records_accepted", False) for name in SOURCE_NAMES),
}
EXPECTED_PARTITIONED = {"synthetic_dataset": "seeds", "dataset_quality": "seeds", "cache_simulation": "seeds",
                       "dataset_pages": "seeds", "replay_run": "seeds"}
EXPECTED_SCHEDULES = {"nightly_regeneration", "weekly_regeneration"}
EXPECTED_SENSORS = {"default_seed_partition", "source_change", "automation_conditions"}
EXPECTED_JOBS = {"materialize_all", "regenerate_synthetic_datasets", "refit_from_sources", "weekly_regeneration_job"}


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
    assert {"warehouse", "endpoint"} <= set(defs().resources)


def test_seed_partitions_backfill_in_one_run():
    graph = defs().resolve_asset_graph()
    for key in ("synthetic_dataset", "dataset_quality"):
        policy = graph.get(dg.AssetKey(key)).backfill_policy
        assert policy is not None and policy.max_partitions_per_run is None  # single_run
