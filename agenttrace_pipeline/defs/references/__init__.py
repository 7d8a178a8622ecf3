"""Dagster definitions of the references domain."""
