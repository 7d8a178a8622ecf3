"""Keep the default seed partition present, so a fresh instance can materialise seed 42 at once."""

import dagster as dg

from agenttrace_pipeline.defs.partitions import DEFAULT_SEED, SEEDS, seeds


@dg.sensor(default_status=dg.DefaultSensorStatus.RUNNING, minimum_interval_seconds=60)
def default_seed_partition(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
    """Adds seed 42 to the ``seeds`` partitions when it is missing (it never starts runs)."""
    if context.instance.has_dynamic_partition(SEEDS, DEFAULT_SEED):
        return dg.SkipReason(f"seed {DEFAULT_SEED} already present")
    return dg.SensorResult(dynamic_partitions_requests=[seeds.build_add_request([DEFAULT_SEED])])
