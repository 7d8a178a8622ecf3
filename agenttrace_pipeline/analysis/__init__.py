"""Analyses that combine core simulations into the studies users ask for (pure Python, no Dagster)."""
