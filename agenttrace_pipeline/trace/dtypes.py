"""Polars dtypes of the Mooncake row fields (what each key of a JSONL row holds), from :data:`FIELDS`."""

import polars as pl

from agenttrace_pipeline.trace.rules import FIELDS

_KIND_DTYPES: dict[str, pl.DataType] = {
    "text": pl.String(), "count": pl.Int64(), "ids": pl.List(pl.Int64()), "ms": pl.Float64(),
    "id": pl.Int64(), "flag": pl.Boolean(),
}
ROW_DTYPES: dict[str, pl.DataType] = {name: _KIND_DTYPES[rule.kind] for name, rule in FIELDS.items()}
