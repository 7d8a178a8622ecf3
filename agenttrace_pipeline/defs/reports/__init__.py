"""Dagster definitions of the reports domain: the benchmark report over every stage."""
