"""Warehouse access: atomic file writes, Parquet lake partitions, DuckDB views and lineage records."""
