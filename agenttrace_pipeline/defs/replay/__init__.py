"""Dagster definitions of the replay domain."""
