"""Dagster definitions of the synthesis domain."""
