"""Vectorised certification of a chunk of trace lines (polars), for large files.

A chunk is *certified* only when polars parses it with exactly the expected dtypes and every row and
cross-row rule holds (the rules are the polars form of :data:`agenttrace_pipeline.trace.rules.FIELDS`);
the caller then commits the chunk's effect on the validation state. Anything unusual — an unknown or
repeated key, a float where an integer belongs, a string, a 128-bit number, an explicit ``null``, a blank
or overlong line, a parse error, any broken rule — makes :func:`certify` return ``None`` and the chunk is
re-checked line by line by the exact validator, so reported errors never depend on this path.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from agenttrace_pipeline.trace.dtypes import ROW_DTYPES
from agenttrace_pipeline.trace.rules_polars import hash_count_expr, placement_expr, value_exprs

if TYPE_CHECKING:
    from agenttrace_pipeline.trace.row_checks import RowChecker

_EMPTY = np.zeros(0, np.int64)


@dataclass
class Certified:
    """What a certified chunk contributes to the validation state."""

    rows: int
    form: str
    run_ids: list[str]  # multi-turn: the sessions that start in this chunk, in order
    run_first: int  # first line of the last of them
    last_ts: float | None
    last_ts_line: int
    # hash ids of rows that have them: flat ids, per-row counts, last-block sizes and lines
    ids: np.ndarray
    counts: np.ndarray
    lasts: np.ndarray
    lines: np.ndarray


def _longest_line(data: bytes) -> int:
    nl = np.flatnonzero(np.frombuffer(data, np.uint8) == 10)
    return int(np.diff(np.concatenate(([-1], nl, [len(data)]))).max()) - 1


def _parse(data: bytes, newlines: int, max_line: int) -> pl.DataFrame | None:
    """The chunk as a frame of the contract's columns, or None when it is not plainly well-formed."""
    if b"null" in data or data.isspace():
        return None
    if len(data) > max_line and _longest_line(data) > max_line:
        return None
    n_lines = newlines + (0 if data.endswith(b"\n") else 1)
    try:  # the explicit schema is strict: floats, strings, bools or 128-bit values in a typed field raise
        df = pl.read_ndjson(io.BytesIO(data), schema=ROW_DTYPES)
    except Exception:  # any parse problem: the exact path will name it
        return None
    if df.height != n_lines:
        return None
    present = df.select(pl.all().is_not_null().sum()).row(0, named=True)
    # Every key has one ':' after it. As many ':' as non-null cells means no key polars dropped (unknown
    # keys), none repeated and no ':' inside a session id. Numbers are coerced into session_id: every
    # session_id must be a quoted string.
    if data.count(b":") != sum(present.values()) or data.count(b'"session_id":"') != present["session_id"]:
        return None
    if present["session_id"] not in (0, df.height):
        return None  # some rows lack session_id: mixed forms
    return df.select([k for k, v in present.items() if v])


def _rows_hold(df: pl.DataFrame, block_size: int, open_session: str | None) -> pl.DataFrame | None:
    """``df`` with a ``__turn0`` column when every row rule holds, else None."""
    if "session_id" in df.columns:
        sid = pl.col("session_id")
        first_is_new = pl.lit(True) if open_session is None else (sid != pl.lit(open_session, pl.String))
        turn0 = pl.when(pl.int_range(pl.len()) == 0).then(first_is_new).otherwise(sid != sid.shift(1))
    else:
        turn0 = pl.lit(False)
    df = df.with_columns(turn0.alias("__turn0"))
    checks = [*value_exprs(df.columns).values(), placement_expr(df.columns, pl.col("__turn0"))]
    if "hash_ids" in df.columns:
        checks.append(hash_count_expr(block_size))
    if not all(df.select([c.all().alias(f"c{i}") for i, c in enumerate(checks)]).row(0)):
        return None
    return df


def _sessions(df: pl.DataFrame, lines: np.ndarray, run: RowChecker) -> tuple[list[str], int] | None:
    """Sessions starting in the chunk and the first line of the last one; None when one repeats."""
    starts = np.flatnonzero(df["__turn0"].to_numpy())
    run_ids = df["session_id"].gather(starts).to_list()
    distinct = set(run_ids)
    if len(distinct) != len(run_ids) or run.session in distinct or run.closed.any_of(run_ids):
        return None  # a session's rows are split: let the exact path report where
    return run_ids, int(lines[starts[-1]]) if starts.size else run.session_start


def _timestamps(df: pl.DataFrame, lines: np.ndarray, prev_ts: float | None) -> tuple[float | None, int] | None:
    """Last timestamp and its line; None when single-turn timestamps decrease."""
    if "timestamp" not in df.columns:
        return prev_ts, 0
    ts = df["timestamp"].to_numpy()
    ok = ~np.isnan(ts)
    vals, at = ts[ok], lines[ok]
    if not vals.size:
        return prev_ts, 0
    if np.any(np.diff(vals) < 0) or (prev_ts is not None and vals[0] < prev_ts):
        return None
    return float(vals[-1]), int(at[-1])


def _hash_ids(df: pl.DataFrame, lines: np.ndarray, block_size: int) -> tuple[np.ndarray, ...]:
    if "hash_ids" not in df.columns:
        return _EMPTY, _EMPTY, _EMPTY, _EMPTY
    has = df["hash_ids"].is_not_null().to_numpy()
    sub = df.filter(pl.Series(has))
    counts = sub["hash_ids"].list.len().to_numpy().astype(np.int64)
    ids = sub["hash_ids"].explode().to_numpy().astype(np.int64)
    lasts = sub["input_length"].to_numpy() - (counts - 1) * block_size
    return ids, counts, lasts, lines[has]


def certify(data: bytes, first_line: int, newlines: int, run: RowChecker) -> Certified | None:
    """Certify the lines of ``data`` (the first is line ``first_line``; ``newlines`` newline characters)
    against the rules and ``run``'s state."""
    df = _parse(data, newlines, run.max_line)
    if df is None:
        return None
    form = "multi-turn" if "session_id" in df.columns else "single-turn"
    if run.form not in (None, form):
        return None
    df = _rows_hold(df, run.bs, run.session)
    if df is None:
        return None
    lines = np.arange(first_line, first_line + df.height, dtype=np.int64)
    run_ids: list[str] = []
    run_first, last_ts, last_ts_line = 0, run.prev_ts, 0
    if form == "multi-turn":
        found = _sessions(df, lines, run)
        if found is None:
            return None
        run_ids, run_first = found
    else:
        ts = _timestamps(df, lines, run.prev_ts)
        if ts is None:
            return None
        last_ts, last_ts_line = ts
    ids, counts, lasts, row_lines = _hash_ids(df, lines, run.bs)
    return Certified(df.height, form, run_ids, run_first, last_ts, last_ts_line, ids, counts, lasts, row_lines)
