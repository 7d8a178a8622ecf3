"""Streaming validator for Mooncake traces: row schema plus the cross-row rules a replayer relies on.

Row rules (what AIPerf's validator checks): each row is a JSON object with exactly one of
input_length / text_input / messages / payload, and hash_ids only together with input_length.

Rules beyond it: integer, positive, bounded lengths; ``(n-1)*bs < input_length <= n*bs`` for ``n``
hash ids; every hash id keeps one block size across the file; rows of a session are contiguous; a
session's turn 0 has ``timestamp >= 0`` and no delay, later turns a ``delay >= 0`` and no timestamp;
``group_id``/``is_restart`` only on turn 0; single-turn timestamps never decrease; single-turn and
multi-turn rows are not mixed.

Memory stays flat in the number of rows: rows are read one at a time and hash ids are checked in chunks
against :class:`BlockSizeRegistry`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from agenttrace_pipeline.trace.block_sizes import BlockSizeRegistry
from agenttrace_pipeline.trace.model import (
    DEFAULT_BLOCK_SIZE,
    INPUT_FIELDS,
    MAX_HASH_ID,
    MAX_TIME_MS,
    MAX_TOKENS,
)
from agenttrace_pipeline.trace.reader import iter_lines

_FLUSH_IDS = 1 << 18  # ids per chunk: bounds the Python-int buffer and numpy temporaries


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken rule: ``line`` (1-based; 0 for the whole file), the ``field`` concerned and why."""

    line: int
    field: str
    reason: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else "file"
        return f"{where}: {self.field}: {self.reason}" if self.field else f"{where}: {self.reason}"


@dataclass
class ValidationReport:
    """Outcome of :func:`validate_file`."""

    path: str
    block_size: int
    readable: bool = True
    rows: int = 0
    sessions: int = 0
    form: str = "empty"  # "single-turn", "multi-turn" or "empty"
    distinct_hash_ids: int = 0
    violations: list[Violation] = field(default_factory=list)
    violation_count: int = 0
    stopped_early: bool = False

    @property
    def valid(self) -> bool:
        return self.readable and self.violation_count == 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.path,
            "valid": self.valid,
            "readable": self.readable,
            "block_size": self.block_size,
            "form": self.form,
            "rows": self.rows,
            "sessions": self.sessions,
            "distinct_hash_ids": self.distinct_hash_ids,
            "violation_count": self.violation_count,
            "stopped_early": self.stopped_early,
            "violations": [{"line": v.line, "field": v.field, "reason": v.reason} for v in self.violations],
        }


def _is_int(v: object) -> bool:
    return type(v) is int  # bool is a subclass of int and is rejected on purpose


def _is_number(v: object) -> bool:
    return (type(v) is int or type(v) is float) and math.isfinite(v)  # type: ignore[arg-type]


class _Run:
    """State of one validation pass."""

    def __init__(self, path: str, block_size: int, max_errors: int | None) -> None:
        self.report = ValidationReport(path=path, block_size=block_size)
        self.bs = block_size
        self.max_errors = max_errors
        self.registry = BlockSizeRegistry(block_size)
        self.form: str | None = None
        self.form_line = 0
        self.prev_ts: float | None = None
        self.prev_ts_line = 0
        self.session: str | None = None
        self.session_start = 0
        self.session_last = 0
        self.closed_sessions: dict[str, tuple[int, int]] = {}
        self.pending_blank = 0
        # hash-id chunk buffers
        self.ids: list[int] = []
        self.counts: list[int] = []
        self.lasts: list[int] = []
        self.lines: list[int] = []

    # -- bookkeeping -------------------------------------------------------------------------
    def add(self, line: int, fld: str, reason: str) -> None:
        self.report.violation_count += 1
        self.report.violations.append(Violation(line, fld, reason))

    @property
    def full(self) -> bool:
        return self.max_errors is not None and self.report.violation_count >= self.max_errors

    def flush_hash_ids(self) -> None:
        if not self.ids:
            return
        ids = np.array(self.ids, dtype=np.int64)
        counts = np.array(self.counts, dtype=np.int64)
        sizes = np.full(ids.size, self.bs, dtype=np.int32)
        sizes[np.cumsum(counts) - 1] = self.lasts
        lines = np.repeat(np.array(self.lines, dtype=np.int32), counts)
        for c in self.registry.add(ids, sizes, lines):
            self.add(
                c.line,
                "hash_ids",
                f"hash id {c.hash_id} is a block of {c.size} tokens here but of {c.first_size} tokens "
                f"at line {c.first_line}; an id must keep one block size across the file",
            )
        self.ids.clear(), self.counts.clear(), self.lasts.clear(), self.lines.clear()

    # -- one row -----------------------------------------------------------------------------
    def row(self, line: int, r: dict[str, Any]) -> None:
        add = self.add
        inputs = [k for k in INPUT_FIELDS if k in r]
        if len(inputs) != 1:
            add(line, "input_length", "a row needs exactly one of input_length, text_input, messages, payload"
                + (f" (found {', '.join(inputs)})" if inputs else " (found none)"))
        length = r.get("input_length")
        length_ok = False
        if "input_length" in r:
            if not _is_int(length):
                add(line, "input_length", f"must be an integer, got {_describe(length)}")
            elif not 0 < length <= MAX_TOKENS:
                add(line, "input_length", f"must be a positive token count <= {MAX_TOKENS}, got {length}")
            else:
                length_ok = True
            if "output_length" not in r:
                add(line, "output_length", "missing (required with input_length)")
        if "output_length" in r:
            out = r["output_length"]
            if not _is_int(out):
                add(line, "output_length", f"must be an integer, got {_describe(out)}")
            elif not 0 < out <= MAX_TOKENS:
                add(line, "output_length", f"must be a positive token count <= {MAX_TOKENS}, got {out}")
        if "hash_ids" in r:
            self.hash_ids(line, r["hash_ids"], length if length_ok else None, "input_length" in r)
        for key in ("timestamp", "delay"):
            if key in r:
                v = r[key]
                if not _is_number(v):
                    add(line, key, f"must be a finite number of milliseconds, got {_describe(v)}")
                elif not 0 <= v <= MAX_TIME_MS:
                    add(line, key, f"must be >= 0 ms (and <= {MAX_TIME_MS:.0e}), got {v}")
        if "group_id" in r and not (_is_int(r["group_id"]) and 0 <= r["group_id"] <= MAX_HASH_ID):
            add(line, "group_id", f"must be a non-negative integer, got {_describe(r['group_id'])}")
        if "is_restart" in r and type(r["is_restart"]) is not bool:
            add(line, "is_restart", f"must be true or false, got {_describe(r['is_restart'])}")
        if "session_id" in r:
            self.multi_turn(line, r)
        else:
            self.single_turn(line, r)

    def hash_ids(self, line: int, ids: object, length: int | None, has_length: bool) -> None:
        if not has_length:
            self.add(line, "hash_ids", "only allowed together with input_length")
            return
        if not isinstance(ids, list):
            self.add(line, "hash_ids", f"must be a list of integers, got {_describe(ids)}")
            return
        for i, h in enumerate(ids):
            if not (_is_int(h) and 0 <= h <= MAX_HASH_ID):
                self.add(line, "hash_ids", f"element {i} must be a non-negative 64-bit integer, got {_describe(h)}")
                return
        if length is None:
            return
        n, bs = len(ids), self.bs
        if not (n - 1) * bs < length <= n * bs:
            need = -(-length // bs)
            self.add(line, "hash_ids", f"{n} ids for input_length {length} at block size {bs}; expected {need} "
                     f"(too {'many' if n > need else 'few'})")
            return
        self.ids.extend(ids)
        self.counts.append(n)
        self.lasts.append(length - (n - 1) * bs)
        self.lines.append(line)
        if len(self.ids) >= _FLUSH_IDS:
            self.flush_hash_ids()

    def set_form(self, line: int, form: str) -> bool:
        if self.form is None:
            self.form, self.form_line = form, line
            return True
        if self.form != form:
            other = "session_id" if form == "single-turn" else "no session_id"
            self.add(line, "session_id", f"mixes {form} rows with {self.form} rows (line {self.form_line} has {other})")
            return False
        return True

    def single_turn(self, line: int, r: dict[str, Any]) -> None:
        if not self.set_form(line, "single-turn"):
            return
        for key in ("delay", "group_id", "is_restart"):
            if key in r:
                self.add(line, key, "only allowed on a multi-turn row that has a session_id")
        ts = r.get("timestamp")
        if _is_number(ts):
            if self.prev_ts is not None and ts < self.prev_ts:
                self.add(line, "timestamp", f"{ts} is earlier than {self.prev_ts} at line {self.prev_ts_line}; "
                         "single-turn timestamps must not decrease")
            self.prev_ts, self.prev_ts_line = ts, line

    def multi_turn(self, line: int, r: dict[str, Any]) -> None:
        sid = r["session_id"]
        if not isinstance(sid, str) or not sid:
            self.add(line, "session_id", f"must be a non-empty string, got {_describe(sid)}")
            return
        if not self.set_form(line, "multi-turn"):
            return
        turn0 = sid != self.session
        if turn0:
            if self.session is not None:
                self.closed_sessions[self.session] = (self.session_start, self.session_last)
            prev = self.closed_sessions.get(sid)
            if prev is not None:
                self.add(line, "session_id", f"session {sid!r} already had rows at lines {prev[0]}-{prev[1]}; "
                         "rows of a session must be contiguous")
            self.session, self.session_start = sid, line
            self.report.sessions += 1
        self.session_last = line
        if turn0:
            if "timestamp" not in r:
                self.add(line, "timestamp", "missing on the session's turn 0 (first row)")
            if "delay" in r:
                self.add(line, "delay", "not allowed on a session's turn 0 (use timestamp)")
        else:
            if "delay" not in r:
                self.add(line, "delay", f"missing on a later turn of session {sid!r} (turn 0 at line {self.session_start})")
            for key in ("timestamp", "group_id", "is_restart"):
                if key in r:
                    self.add(line, key, f"only allowed on a session's turn 0 (turn 0 of {sid!r} is line {self.session_start})")


def _describe(v: object) -> str:
    if isinstance(v, str):
        return f"string {v[:40]!r}"
    if v is None:
        return "null"
    if isinstance(v, bool):
        return f"boolean {str(v).lower()}"
    if isinstance(v, float):
        return f"number {v!r}"
    if isinstance(v, list):
        return f"array of {len(v)}"
    if isinstance(v, dict):
        return "object"
    return f"{type(v).__name__} {v!r}"


def _bad_line_reason(raw: bytes, exc: Exception, has_newline: bool) -> str:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as u:
        return f"not valid UTF-8 (byte 0x{raw[u.start]:02x} at column {u.start + 1})"
    if raw.startswith(b"\xef\xbb\xbf"):
        return "starts with a UTF-8 byte-order mark; save the file without a BOM"
    if not has_newline:
        return f"truncated last line: incomplete JSON and no newline at end of file ({exc})"
    return f"invalid JSON ({exc})"


def validate_file(
    path: str | Path,
    block_size: int = DEFAULT_BLOCK_SIZE,
    max_errors: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> ValidationReport:
    """Validate a Mooncake trace file, streaming.

    Parameters
    ----------
    path: the JSONL trace.
    block_size: tokens per hash-id block (512 for FAST'25 and AIPerf).
    max_errors: stop after this many violations (``None``: check the whole file).
    progress: called with the number of bytes read so far, every ~64k rows.

    Returns a :class:`ValidationReport`; ``readable`` is false (and ``valid`` false) when the file cannot
    be opened or read at all.
    """
    if block_size < 1:
        raise ValueError(f"block_size must be >= 1, got {block_size}")
    run = _Run(str(path), block_size, max_errors)
    rep = run.report
    nbytes = 0
    try:
        for line_no, raw, has_newline in iter_lines(path):
            nbytes += len(raw) + 1
            if progress is not None and line_no & 0xFFFF == 0:
                progress(nbytes)
            if not raw.strip():
                run.pending_blank = run.pending_blank or line_no
                continue
            if run.pending_blank:
                run.add(run.pending_blank, "", "blank line inside the trace")
                run.pending_blank = 0
            try:
                obj = orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                if line_no == 1 and raw.lstrip()[:1] == b"<":
                    run.add(1, "", "the file is an HTML page, not JSONL (an error page saved in place of the trace?)")
                    break
                run.add(line_no, "", _bad_line_reason(raw, exc, has_newline))
            else:
                if isinstance(obj, dict):
                    rep.rows += 1
                    run.row(line_no, obj)
                else:
                    run.add(line_no, "", f"a row must be a JSON object, got {_describe(obj)}")
            if run.full:
                run.flush_hash_ids()
                rep.stopped_early = True
                break
        else:
            run.flush_hash_ids()
    except OSError as exc:
        rep.readable = False
        run.add(0, "", f"cannot read file: {exc.strerror or exc}")
        return rep
    if progress is not None:
        progress(nbytes)
    if rep.rows == 0 and rep.violation_count == 0:
        run.add(0, "", "the file is empty: no rows")
    rep.form = run.form or "empty"
    rep.distinct_hash_ids = run.registry.distinct_ids
    rep.violations.sort(key=lambda v: v.line)
    if max_errors is not None and len(rep.violations) > max_errors:
        del rep.violations[max_errors:]
    return rep
