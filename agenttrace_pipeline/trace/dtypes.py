"""Polars dtypes of the Mooncake row fields (what each key of a JSONL row holds)."""

import polars as pl

ROW_DTYPES: dict[str, pl.DataType] = {
    "session_id": pl.String(),
    "input_length": pl.Int64(),
    "output_length": pl.Int64(),
    "hash_ids": pl.List(pl.Int64()),
    "timestamp": pl.Float64(),
    "delay": pl.Float64(),
    "group_id": pl.Int64(),
    "is_restart": pl.Boolean(),
}
