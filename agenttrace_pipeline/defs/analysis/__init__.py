"""Dagster definitions of the analysis domain: KV-cache simulation and dataset pages per seed."""
