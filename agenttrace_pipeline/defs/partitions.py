"""Partitions: generated datasets are partitioned by seed (a dynamic set; 42 is added by default)."""

import dagster as dg

DEFAULT_SEED = "42"
seeds = dg.DynamicPartitionsDefinition(name="seeds")
