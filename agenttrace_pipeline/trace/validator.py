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
import os
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import orjson

from agenttrace_pipeline.trace.block_sizes import BlockSizeRegistry, SizeConflict
from agenttrace_pipeline.trace.model import (
    DEFAULT_BLOCK_SIZE,
    INPUT_FIELDS,
    MAX_HASH_ID,
    MAX_TIME_MS,
    MAX_TOKENS,
)

_FLUSH_IDS = 1 << 18  # ids per registry call on the line-by-line path: bounds numpy temporaries
_MAX_KEPT_CONFLICTS = 10_000  # counted beyond this, but not listed
CHUNK_BYTES = 4 << 20  # bytes read (and, for large files, certified by polars) at a time
FAST_PATH_MIN_BYTES = 16 << 20  # smaller files skip the vectorised path (and polars' import time)


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

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ValidationReport:
        """Inverse of :meth:`to_dict` (used to read a report from a validator child process)."""
        return cls(
            path=d["file"], block_size=d["block_size"], readable=d["readable"], rows=d["rows"],
            sessions=d["sessions"], form=d["form"], distinct_hash_ids=d["distinct_hash_ids"],
            violations=[Violation(v["line"], v["field"], v["reason"]) for v in d["violations"]],
            violation_count=d["violation_count"], stopped_early=d["stopped_early"],
        )

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
        self.conflicts: list[SizeConflict] = []
        # hash-id chunk buffers
        self.ids = array("q")
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
        self.register(np.frombuffer(self.ids, dtype=np.int64), np.array(self.counts, dtype=np.int64),
                      np.array(self.lasts, dtype=np.int64), np.array(self.lines, dtype=np.int64))
        self.ids = array("q")  # a new buffer: numpy still views the old one
        self.counts.clear(), self.lasts.clear(), self.lines.clear()

    def register(self, ids: np.ndarray, counts: np.ndarray, lasts: np.ndarray, lines: np.ndarray) -> None:
        """Check rows' ids (flat, with per-row counts, last-block sizes and lines) against earlier sizes."""
        if not ids.size:
            return
        sizes = np.full(ids.size, self.bs, dtype=np.int32)
        sizes[np.cumsum(counts) - 1] = lasts
        for c in self.registry.add(ids, sizes, np.repeat(lines.astype(np.int32), counts)):
            self.report.violation_count += 1
            if len(self.conflicts) < _MAX_KEPT_CONFLICTS:
                self.conflicts.append(c)

    def resolve_conflicts(self, source: str | Path | BinaryIO) -> None:
        """Turn size conflicts into violations, looking up first sightings in a second pass when needed."""
        unknown = {c.hash_id for c in self.conflicts if c.first_line == 0}
        first = _first_sightings(source, unknown) if unknown and isinstance(source, (str, Path)) else {}
        for c in self.conflicts:
            line = c.first_line or first.get(c.hash_id, 0)
            where = f"at line {line}" if line else "earlier in the file"
            self.report.violations.append(Violation(
                c.line, "hash_ids",
                f"hash id {c.hash_id} is a block of {c.size} tokens here but of {c.first_size} tokens "
                f"{where}; an id must keep one block size across the file"))
        self.conflicts.clear()

    # -- whole chunks ------------------------------------------------------------------------
    def chunk(self, data: bytes, first_line: int, fast: bool) -> bool:
        """Validate the lines in ``data`` (first one is ``first_line``); True when validation must stop."""
        n_lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
        if fast and self.certified(data, first_line, n_lines):
            return False
        return self.lines_of(data, first_line)

    def certified(self, data: bytes, first_line: int, n_lines: int) -> bool:
        from agenttrace_pipeline.trace.fast_path import certify

        c = certify(data, first_line, n_lines, self.bs, self.form, self.session, self.prev_ts, self.closed_sessions)
        if c is None:
            return False
        if self.pending_blank:
            self.add(self.pending_blank, "", "blank line inside the trace")
            self.pending_blank = 0
        rep = self.report
        rep.rows += c.rows
        if self.form is None:
            self.form, self.form_line = c.form, first_line
        if c.run_ids:
            if self.session is not None:
                self.closed_sessions[self.session] = (self.session_start, self.session_last)
            for sid, lo, hi in zip(c.run_ids[:-1], c.run_first[:-1], c.run_last[:-1], strict=True):
                self.closed_sessions[sid] = (lo, hi)
            self.session, self.session_start = c.run_ids[-1], c.run_first[-1]
            rep.sessions += len(c.run_ids)
        if c.form == "multi-turn":
            self.session_last = first_line + c.rows - 1
        if c.last_ts_line:
            self.prev_ts, self.prev_ts_line = c.last_ts, c.last_ts_line
        self.flush_hash_ids()  # keep file order: earlier slow-path rows first
        self.register(c.ids, c.counts, c.lasts, c.lines)
        return True

    def lines_of(self, data: bytes, first_line: int) -> bool:
        rep = self.report
        parts = data.split(b"\n")
        last_has_newline = data.endswith(b"\n")
        if last_has_newline:
            parts.pop()
        for offset, raw in enumerate(parts):
            line_no = first_line + offset
            has_newline = last_has_newline or offset < len(parts) - 1
            if raw.endswith(b"\r"):
                raw = raw[:-1]
            if not raw.strip():
                self.pending_blank = self.pending_blank or line_no
                continue
            if self.pending_blank:
                self.add(self.pending_blank, "", "blank line inside the trace")
                self.pending_blank = 0
            try:
                obj = orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                if line_no == 1 and raw.lstrip()[:1] == b"<":
                    self.add(1, "", "the file is an HTML page, not JSONL (an error page saved in place of the trace?)")
                    return True
                self.add(line_no, "", _bad_line_reason(raw, exc, has_newline))
            else:
                if type(obj) is dict:
                    rep.rows += 1
                    self.row(line_no, obj, b"true" in raw or b"false" in raw)
                else:
                    self.add(line_no, "", f"a row must be a JSON object, got {_describe(obj)}")
            if self.full:
                rep.stopped_early = True
                return True
        return False

    # -- one row -----------------------------------------------------------------------------
    def row(self, line: int, r: dict[str, Any], maybe_bool: bool = True) -> None:
        """Check one parsed row. ``maybe_bool`` is false when the raw line has no true/false literal."""
        length, out = r.get("input_length"), r.get("output_length")
        ts, d = r.get("timestamp", 0), r.get("delay", 0)
        g, rs = r.get("group_id", 0), r.get("is_restart", False)
        # Fast path: the common, valid shape is recognised with a few type/range tests; anything else
        # goes through the exhaustive checks, which name every problem.
        if (type(length) is int and 0 < length <= MAX_TOKENS and type(out) is int and 0 < out <= MAX_TOKENS
                and (type(ts) is float or type(ts) is int) and 0 <= ts <= MAX_TIME_MS
                and (type(d) is float or type(d) is int) and 0 <= d <= MAX_TIME_MS
                and type(g) is int and 0 <= g <= MAX_HASH_ID and type(rs) is bool
                and "text_input" not in r and "messages" not in r and "payload" not in r):
            ids = r.get("hash_ids")
            if ids is not None:
                self.hash_ids(line, ids, length, True, maybe_bool)
        else:
            self.fields(line, r, maybe_bool)
        if "session_id" in r:
            self.multi_turn(line, r)
        else:
            self.single_turn(line, r)

    def fields(self, line: int, r: dict[str, Any], maybe_bool: bool) -> None:
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
            self.hash_ids(line, r["hash_ids"], length if length_ok else None, "input_length" in r, maybe_bool)
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

    def bad_element(self, line: int, ids: list) -> None:
        for i, h in enumerate(ids):
            if not (_is_int(h) and 0 <= h <= MAX_HASH_ID):
                self.add(line, "hash_ids", f"element {i} must be a non-negative 64-bit integer, got {_describe(h)}")
                return

    def hash_ids(self, line: int, ids: object, length: int | None, has_length: bool, maybe_bool: bool = True) -> None:
        if not has_length:
            self.add(line, "hash_ids", "only allowed together with input_length")
            return
        if type(ids) is not list:
            self.add(line, "hash_ids", f"must be a list of integers, got {_describe(ids)}")
            return
        buf = self.ids
        before = len(buf)
        # array('q').extend is the integer check at C speed (floats and strings raise TypeError, values
        # beyond 64 bits OverflowError); bools pass it, so lines with a true/false literal are scanned.
        try:
            buf.extend(ids)
        except (TypeError, OverflowError):
            del buf[before:]
            self.bad_element(line, ids)
            return
        n, bs = len(ids), self.bs
        if n and (min(ids) < 0 or (maybe_bool and any(type(h) is bool for h in ids))):
            del buf[before:]
            self.bad_element(line, ids)
            return
        if length is None:
            del buf[before:]
            return
        if not (n - 1) * bs < length <= n * bs:
            del buf[before:]
            need = -(-length // bs)
            self.add(line, "hash_ids", f"{n} ids for input_length {length} at block size {bs}; expected {need} "
                     f"(too {'many' if n > need else 'few'})")
            return
        self.counts.append(n)
        self.lasts.append(length - (n - 1) * bs)
        self.lines.append(line)
        if len(buf) >= _FLUSH_IDS:
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


def _first_sightings(path: str | Path, ids: set[int]) -> dict[int, int]:
    """Line where each of ``ids`` first appears in ``path`` (second pass; only run when ids conflict)."""
    found: dict[int, int] = {}
    with open(path, "rb") as fh:
        for line_no, raw in enumerate(fh, start=1):
            try:
                row = orjson.loads(raw)
            except orjson.JSONDecodeError:
                continue
            hs = row.get("hash_ids") if type(row) is dict else None
            if type(hs) is list:
                for h in ids.intersection(x for x in hs if type(x) is int):
                    found.setdefault(h, line_no)
                if len(found) == len(ids):
                    break
    return found


def _validate_stream(run: _Run, fh: BinaryIO, fast: bool, progress: Callable[[int], None] | None) -> int:
    """Feed ``fh`` to ``run`` in newline-aligned chunks; returns the bytes read."""
    nbytes, line_no, carry = 0, 1, b""
    while True:
        block = fh.read(CHUNK_BYTES)
        if not block:
            if carry:
                run.chunk(carry, line_no, fast)
            break
        nbytes += len(block)
        data = carry + block
        cut = data.rfind(b"\n") + 1
        if cut == 0:  # no newline yet: keep reading
            carry = data
            continue
        data, carry = data[:cut], data[cut:]
        if run.chunk(data, line_no, fast):
            break
        line_no += data.count(b"\n")
        if progress is not None:
            progress(nbytes)
    return nbytes


def validate_file(
    path: str | Path | BinaryIO,
    block_size: int = DEFAULT_BLOCK_SIZE,
    max_errors: int | None = None,
    progress: Callable[[int], None] | None = None,
    name: str | None = None,
) -> ValidationReport:
    """Validate a Mooncake trace file, streaming.

    Parameters
    ----------
    path: the JSONL trace, or an open binary stream of it (then ``name`` labels the report).
    block_size: tokens per hash-id block (512 for FAST'25 and AIPerf).
    max_errors: stop after this many violations (``None``: check the whole file).
    progress: called with the number of bytes read so far, every ~64k rows.

    Returns a :class:`ValidationReport`; ``readable`` is false (and ``valid`` false) when the file cannot
    be opened or read at all.
    """
    if block_size < 1:
        raise ValueError(f"block_size must be >= 1, got {block_size}")
    run = _Run(name or str(path), block_size, max_errors)
    rep = run.report
    nbytes = 0
    try:
        if isinstance(path, (str, Path)):
            size = os.stat(path).st_size
            with open(path, "rb") as fh:
                nbytes = _validate_stream(run, fh, size >= FAST_PATH_MIN_BYTES, progress)
        else:
            nbytes = _validate_stream(run, path, True, progress)
    except OSError as exc:
        rep.readable = False
        run.add(0, "", f"cannot read file: {exc.strerror or exc}")
        return rep
    run.flush_hash_ids()
    run.resolve_conflicts(path)
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
