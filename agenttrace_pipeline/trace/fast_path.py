"""Vectorised certification of a chunk of trace lines (polars), for large files.

A chunk is *certified* only when polars parses it with exactly the expected dtypes and every row and
cross-row rule holds; the caller then commits the chunk's effect on the validation state. Anything
unusual — an unknown key, a float where an integer belongs, a string, a 128-bit number, an explicit
``null``, a blank line, a parse error, any broken rule — makes :func:`certify` return ``None`` and the
chunk is re-checked line by line by the exact validator, so reported errors never depend on this path.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import polars as pl

from agenttrace_pipeline.trace.dtypes import ROW_DTYPES
from agenttrace_pipeline.trace.model import MAX_HASH_ID, MAX_TIME_MS, MAX_TOKENS



@dataclass
class Certified:
    """What a certified chunk contributes to the validation state."""

    rows: int
    form: str
    # multi-turn: session ids and first/last line of each run that starts in this chunk
    run_ids: list[str]
    run_first: list[int]
    run_last: list[int]
    continues_session: bool  # the chunk's first row continues the session open before it
    last_ts: float | None
    last_ts_line: int
    # hash ids of rows that have them
    ids: np.ndarray
    counts: np.ndarray
    lasts: np.ndarray
    lines: np.ndarray


def _col(df: pl.DataFrame, name: str) -> pl.Expr:
    return pl.col(name) if name in df.columns else pl.lit(None)


def certify(
    data: bytes,
    first_line: int,
    n_lines: int,
    block_size: int,
    form: str | None,
    open_session: str | None,
    prev_ts: float | None,
    closed_sessions: dict[str, tuple[int, int]],
) -> Certified | None:
    if b"null" in data or not data.strip():
        return None
    try:  # the explicit schema is strict: floats, strings, bools or 128-bit values in a typed field raise
        df = pl.read_ndjson(io.BytesIO(data), schema=ROW_DTYPES)
    except Exception:  # any parse problem: the exact path will name it
        return None
    if df.height != n_lines:
        return None
    present = df.select(pl.all().is_not_null().sum()).row(0, named=True)
    # Keys outside the schema are dropped by polars: every '":' key separator must belong to a known,
    # non-null cell. Numbers are coerced into session_id: every session_id must be a quoted string.
    if data.count(b'":') != sum(present.values()) or data.count(b'"session_id":"') != present["session_id"]:
        return None
    if present["input_length"] != df.height or present["output_length"] != df.height:
        return None
    df = df.select([k for k, v in present.items() if v])
    if "session_id" in df.columns and present["session_id"] != df.height:
        return None  # some rows lack session_id: mixed forms
    chunk_form = "multi-turn" if "session_id" in df.columns else "single-turn"
    if form not in (None, chunk_form):
        return None

    bs = block_size
    length = pl.col("input_length")
    checks = [
        length.is_not_null().all() & length.is_between(1, MAX_TOKENS).all(),
        pl.col("output_length").is_not_null().all() & pl.col("output_length").is_between(1, MAX_TOKENS).all(),
        _col(df, "group_id").fill_null(0).is_between(0, MAX_HASH_ID).all(),
    ]
    for t in ("timestamp", "delay"):
        if t in df.columns:
            v = pl.col(t)
            checks.append((v.is_null() | (v.is_finite() & v.is_between(0, MAX_TIME_MS))).all())
    if "hash_ids" in df.columns:
        n = pl.col("hash_ids").list.len()
        checks += [
            (pl.col("hash_ids").list.min().fill_null(0) >= 0).all(),
            (pl.col("hash_ids").is_null() | (((n - 1) * bs < length) & (length <= n * bs))).all(),
        ]
    if chunk_form == "multi-turn":
        sid = pl.col("session_id")
        first_is_new = pl.lit(True) if open_session is None else (sid != pl.lit(open_session, pl.String))
        turn0 = pl.when(pl.int_range(pl.len()) == 0).then(first_is_new).otherwise(sid != sid.shift(1))
        ts, dl = _col(df, "timestamp"), _col(df, "delay")
        gid, rst = _col(df, "group_id"), _col(df, "is_restart")
        checks += [
            sid.is_not_null().all(),
            (sid.str.len_bytes() > 0).all(),
            (~turn0 | (ts.is_not_null() & dl.is_null())).all(),
            (turn0 | (dl.is_not_null() & ts.is_null() & gid.is_null() & rst.is_null())).all(),
        ]
        df = df.with_columns(turn0.alias("__turn0"))
    else:
        checks += [_col(df, k).is_null().all() for k in ("delay", "group_id", "is_restart")]
    if not all(df.select([c.alias(f"c{i}") for i, c in enumerate(checks)]).row(0)):
        return None

    lines = np.arange(first_line, first_line + df.height, dtype=np.int64)
    run_ids: list[str] = []
    run_first: list[int] = []
    run_last: list[int] = []
    continues = False
    last_ts, last_ts_line = prev_ts, 0
    if chunk_form == "multi-turn":
        t0 = df["__turn0"].to_numpy()
        starts = np.flatnonzero(t0)
        continues = not bool(t0[0])
        run_ids = df["session_id"].gather(starts).to_list()
        if len(set(run_ids)) != len(run_ids) or any(s in closed_sessions for s in run_ids):
            return None  # a session's rows are split: let the exact path report where
        ends = np.append(starts[1:] - 1, df.height - 1)
        run_first, run_last = lines[starts].tolist(), lines[ends].tolist()
    elif "timestamp" in df.columns:
        ts = df["timestamp"].to_numpy()
        ok = ~np.isnan(ts)
        vals, at = ts[ok], lines[ok]
        if vals.size:
            if np.any(np.diff(vals) < 0) or (prev_ts is not None and vals[0] < prev_ts):
                return None
            last_ts, last_ts_line = float(vals[-1]), int(at[-1])

    if "hash_ids" in df.columns:
        has = df["hash_ids"].is_not_null().to_numpy()
        sub = df.filter(pl.Series(has))
        counts = sub["hash_ids"].list.len().to_numpy().astype(np.int64)
        ids = sub["hash_ids"].explode().to_numpy().astype(np.int64)
        lasts = sub["input_length"].to_numpy() - (counts - 1) * bs
        row_lines = lines[has]
    else:
        ids = counts = lasts = row_lines = np.zeros(0, np.int64)
    return Certified(df.height, chunk_form, run_ids, run_first, run_last, continues, last_ts, last_ts_line,
                     ids, counts, lasts, row_lines)
