"""Partitions: generated datasets are partitioned by seed (a dynamic set; 42 is added by default)."""

import dagster as dg

DEFAULT_SEED = "42"
SEEDS = "seeds"  # the partition set's name, for instance calls
seeds = dg.DynamicPartitionsDefinition(name=SEEDS)
