"""The trace table: a Mooncake file as a polars frame, and its pandera (polars backend) schema.

The schema's column checks and row rules come from :data:`agenttrace_pipeline.trace.rules.FIELDS`, the same
definition the validator and the fast path use.
"""

from __future__ import annotations

import io
from pathlib import Path

import pandera.polars as pa
import polars as pl

from agenttrace_pipeline.trace.dtypes import ROW_DTYPES
from agenttrace_pipeline.trace.files import is_gzip, open_trace
from agenttrace_pipeline.trace.model import BLOCK_SIZE
from agenttrace_pipeline.trace.rules import FIELDS, FieldRule
from agenttrace_pipeline.trace.rules_polars import hash_count_expr, placement_expr, value_expr

# Column order and types of a trace table; ``line`` is the 1-based line in the source file and
# ``turn`` the row's index inside its session (0 for single-turn rows).
TRACE_COLUMNS: dict[str, pl.DataType] = {"line": pl.Int64(), "session_id": pl.String(), "turn": pl.Int32(),
                                         **{k: v for k, v in ROW_DTYPES.items() if k != "session_id"}}


def read_trace_table(path: str | Path) -> pl.DataFrame:
    """Load a trace that already passed :func:`validate_file` into a frame with :data:`TRACE_COLUMNS`.

    Gzip-compressed files are read transparently. Blank lines are not expected (the validator rejects
    them), so ``line`` is the row's position + 1.
    """
    if is_gzip(path):
        with open_trace(path) as fh:
            df = pl.read_ndjson(io.BytesIO(fh.read()), schema=ROW_DTYPES)
    else:
        df = pl.read_ndjson(path, schema=ROW_DTYPES)
    df = df.with_row_index("line", offset=1).with_columns(pl.col("line").cast(pl.Int64))
    turn = pl.int_range(pl.len(), dtype=pl.Int32).over("session_id")
    df = df.with_columns(pl.when(pl.col("session_id").is_null()).then(pl.lit(0, pl.Int32)).otherwise(turn).alias("turn"))
    return df.select(TRACE_COLUMNS.keys())


def _frame_check(expr: pl.Expr, name: str, error: str) -> pa.Check:
    return pa.Check(lambda data, e=expr: data.lazyframe.select(e.alias("ok")), name=name, error=error)


def _column(rule: FieldRule) -> pa.Column:
    checks = []
    if rule.kind in ("count", "ms", "id"):
        checks.append(pa.Check.in_range(rule.lo, rule.hi))
    elif rule.kind == "text":
        checks.append(pa.Check.str_length(min_value=int(rule.lo)))
    nullable = not (rule.single == rule.turn0 == rule.later == "required")
    return pa.Column(ROW_DTYPES[rule.name], checks, nullable=nullable)


def trace_table_schema(block_size: int = BLOCK_SIZE) -> pa.DataFrameSchema:
    """pandera schema of a trace table at ``block_size`` tokens per hash id."""
    columns = {name: _column(FIELDS[name]) if name in FIELDS else None for name in TRACE_COLUMNS}
    columns["line"] = pa.Column(pl.Int64, pa.Check.gt(0), unique=True)
    columns["turn"] = pa.Column(pl.Int32, pa.Check.ge(0))
    return pa.DataFrameSchema(
        columns,
        checks=[
            _frame_check(value_expr(FIELDS["hash_ids"]), "hash_ids_are_non_negative", "hash ids must be >= 0"),
            _frame_check(hash_count_expr(block_size), "hash_ids_cover_input_length",
                         f"(len(hash_ids)-1)*{block_size} < input_length <= len(hash_ids)*{block_size}"),
            _frame_check(placement_expr(list(TRACE_COLUMNS), pl.col("turn") == 0), "fields_where_the_row_allows_them",
                         "turn 0 has timestamp (no delay); later turns have delay and no timestamp/group_id/is_restart; "
                         "single-turn rows have no delay/group_id/is_restart"),
        ],
        strict=True,
        ordered=True,
        name="mooncake_trace_table",
    )
