"""The trace table: a Mooncake file as a polars frame, and its pandera (polars backend) schema."""

from __future__ import annotations

from pathlib import Path

import pandera.polars as pa
import polars as pl

from agenttrace_pipeline.trace.dtypes import ROW_DTYPES
from agenttrace_pipeline.trace.model import DEFAULT_BLOCK_SIZE, MAX_TOKENS

# Column order and types of a trace table; ``line`` is the 1-based line in the source file and
# ``turn`` the row's index inside its session (0 for single-turn rows).
TRACE_COLUMNS: dict[str, pl.DataType] = {"line": pl.Int64(), "session_id": pl.String(), "turn": pl.Int32(),
                                         **{k: v for k, v in ROW_DTYPES.items() if k != "session_id"}}

_JSON_SCHEMA = ROW_DTYPES


def read_trace_table(path: str | Path) -> pl.DataFrame:
    """Load a trace that already passed :func:`validate_file` into a frame with :data:`TRACE_COLUMNS`.

    Blank lines are not expected (the validator rejects them), so ``line`` is the row's position + 1.
    """
    df = pl.read_ndjson(path, schema=_JSON_SCHEMA)
    df = df.with_row_index("line", offset=1).with_columns(pl.col("line").cast(pl.Int64))
    turn = pl.int_range(pl.len(), dtype=pl.Int32).over("session_id")
    df = df.with_columns(pl.when(pl.col("session_id").is_null()).then(pl.lit(0, pl.Int32)).otherwise(turn).alias("turn"))
    return df.select(TRACE_COLUMNS.keys())


def _hash_count_rule(block_size: int):
    def check(data) -> pl.LazyFrame:
        n = pl.col("hash_ids").list.len()
        length = pl.col("input_length")
        ok = pl.col("hash_ids").is_null() | (((n - 1) * block_size < length) & (length <= n * block_size))
        return data.lazyframe.select(ok.alias("ok"))

    return check


def _turn_timing_rule(data) -> pl.LazyFrame:
    first = pl.col("turn") == 0
    multi = pl.col("session_id").is_not_null()
    ok = (
        ~multi
        | (first & pl.col("timestamp").is_not_null() & pl.col("delay").is_null())
        | (~first & pl.col("delay").is_not_null() & pl.col("timestamp").is_null()
           & pl.col("group_id").is_null() & pl.col("is_restart").is_null())
    )
    return data.lazyframe.select(ok.alias("ok"))


def trace_table_schema(block_size: int = DEFAULT_BLOCK_SIZE) -> pa.DataFrameSchema:
    """pandera schema of a trace table at ``block_size`` tokens per hash id."""
    positive = [pa.Check.gt(0), pa.Check.le(MAX_TOKENS)]
    return pa.DataFrameSchema(
        {
            "line": pa.Column(pl.Int64, pa.Check.gt(0), unique=True),
            "session_id": pa.Column(pl.String, nullable=True),
            "turn": pa.Column(pl.Int32, pa.Check.ge(0)),
            "input_length": pa.Column(pl.Int64, positive),
            "output_length": pa.Column(pl.Int64, positive),
            "hash_ids": pa.Column(pl.List(pl.Int64), nullable=True),
            "timestamp": pa.Column(pl.Float64, pa.Check.ge(0), nullable=True),
            "delay": pa.Column(pl.Float64, pa.Check.ge(0), nullable=True),
            "group_id": pa.Column(pl.Int64, pa.Check.ge(0), nullable=True),
            "is_restart": pa.Column(pl.Boolean, nullable=True),
        },
        checks=[
            pa.Check(_hash_count_rule(block_size), name="hash_ids_cover_input_length",
                     error=f"(len(hash_ids)-1)*{block_size} < input_length <= len(hash_ids)*{block_size}"),
            pa.Check(_turn_timing_rule, name="turn0_timestamp_later_turns_delay",
                     error="turn 0 has timestamp (no delay); later turns have delay and no timestamp/group_id/is_restart"),
        ],
        strict=True,
        ordered=True,
        name="mooncake_trace_table",
    )
