"""Dagster layer: thin assets, checks, partitions, resources and schedules over the core library."""
