"""Polars column aggregates (median, quantile, max) as plain Python numbers.

Polars types an aggregate as any Python literal or None; callers here only aggregate numeric columns that
they have checked hold values, so anything else is a bug worth a clear error rather than a bare ``float()``.
"""

from __future__ import annotations

import polars as pl


def number(value: object, what: str) -> int | float:
    """``value`` (an aggregate of a numeric column) unchanged; ``TypeError`` naming ``what`` when it is null
    or not a number."""
    if not isinstance(value, (int, float)):
        raise TypeError(f"{what}: expected a number, got {value!r}")
    return value


def column_median(frame: pl.DataFrame, col: str) -> float | None:
    """The median of ``frame[col]``; None when the column holds no values (no rows, or all null)."""
    values = frame[col]
    if values.null_count() >= frame.height:
        return None
    return float(number(values.median(), f"median of {col}"))
