"""The row rules of :mod:`agenttrace_pipeline.trace.rules` as polars expressions, one boolean per row.

Used by the fast path (every expression must hold for every row of a chunk) and by the pandera schema of
the trace table (each expression is one named check). ``turn0`` is an expression that is true on a
session's first row; ``multi`` is ``session_id IS NOT NULL``.
"""

from __future__ import annotations

import polars as pl

from agenttrace_pipeline.trace.rules import FIELDS, PLACED, FieldRule


def _present(name: str, columns: list[str]) -> pl.Expr:
    return pl.col(name).is_not_null() if name in columns else pl.lit(False)


def value_expr(rule: FieldRule) -> pl.Expr:
    """True where the field is null or its value is in range (the dtype already fixed the type)."""
    v = pl.col(rule.name)
    if rule.kind == "ids":
        ok = v.list.min().fill_null(0) >= rule.lo  # int64 elements cannot exceed MAX_HASH_ID
    elif rule.kind == "text":
        ok = v.str.len_bytes() >= rule.lo
    elif rule.kind == "flag":
        return pl.lit(True)
    else:
        ok = v.is_between(rule.lo, rule.hi)
        if rule.kind == "ms":
            ok = ok & v.is_finite()
    return v.is_null() | ok


def value_exprs(columns: list[str]) -> dict[str, pl.Expr]:
    """Range rules of the fields among ``columns``, by field name."""
    return {name: value_expr(rule) for name, rule in FIELDS.items() if name in columns}


def hash_count_expr(block_size: int) -> pl.Expr:
    """``(n-1)*block_size < input_length <= n*block_size`` for ``n`` hash ids (rows without ids pass)."""
    n = pl.col("hash_ids").list.len()
    length = pl.col("input_length")
    return pl.col("hash_ids").is_null() | (((n - 1) * block_size < length) & (length <= n * block_size))


def placement_expr(columns: list[str], turn0: pl.Expr) -> pl.Expr:
    """True where every field is present where required and absent where forbidden (all places)."""
    multi = _present("session_id", columns)
    place = {"single": ~multi, "turn0": multi & turn0, "later": multi & ~turn0}
    ok = _present("input_length", columns) & _present("output_length", columns)
    for rule in PLACED:
        has = _present(rule.name, columns)
        for where, at in place.items():
            need = rule.need(where)  # type: ignore[arg-type]
            if need == "required":
                ok = ok & (~at | has)
            elif need == "forbidden":
                ok = ok & (~at | ~has)
    return ok
