"""Reading tables that are partitioned by source back into one frame, for the assets that combine sources."""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

from agenttrace_pipeline.store.warehouse import Warehouse


class MissingPartition(LookupError):
    """A partition an asset needs has not been written (its upstream asset has not run)."""


def read_by_source(wh: Warehouse, table: str, sources: Iterable[str], schema: dict | None = None,
                   required: bool = False) -> pl.DataFrame:
    """The ``sources``' partitions of ``table`` with their ``source`` column restored (``run_id`` dropped);
    ``schema`` selects and orders the columns. ``required``: a missing partition raises :class:`MissingPartition`."""
    frames = []
    for name in sources:
        df = wh.read_partition(table, name)
        if df is None:
            if required:
                raise MissingPartition(f"{table}: source {name!r} has not been ingested; materialise {name}_raw first")
            continue
        frames.append(df.drop("run_id", strict=False).with_columns(source=pl.lit(name)))
    if not frames:
        return pl.DataFrame(schema=schema or {})
    df = pl.concat(frames, how="diagonal_relaxed")  # a partition from an older version may lack a newer column
    return df.select(list(schema)) if schema else df


def read_all_sources(wh: Warehouse, table: str, schema: dict | None = None) -> pl.DataFrame:
    """Every source partition of ``table`` present in the lake, with its ``source`` column."""
    return read_by_source(wh, table, wh.partition_values(table), schema)
