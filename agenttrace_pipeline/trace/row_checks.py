"""The validator's state and its exact, row-by-row checks (the rules come from :mod:`.rules`).

Every row goes through here unless the fast path certified its whole chunk; every error message comes
from here, so reported errors never depend on the fast path.
"""

from __future__ import annotations

from array import array
from typing import Any

import numpy as np
import orjson

from agenttrace_pipeline import strict_json
from agenttrace_pipeline.trace.block_sizes import BlockSizeRegistry, SizeConflict
from agenttrace_pipeline.trace.model import MAX_HASH_ID, MAX_TIME_MS, MAX_TOKENS
from agenttrace_pipeline.trace.reader import bad_line_reason, duplicate_key_reason
from agenttrace_pipeline.trace.report import ValidationReport, Violation
from agenttrace_pipeline.trace.rules import (
    FIELDS,
    bad_hash_id,
    describe,
    input_problems,
    placement_problems,
    value_problem,
    value_problems,
)
from agenttrace_pipeline.trace.sessions import SeenSessions

FLUSH_IDS = 1 << 18  # ids per registry call on the line-by-line path: bounds numpy temporaries
MAX_KEPT = 10_000  # conflicts and repeated sessions counted beyond this, but not listed


class RowChecker:
    """State of one validation pass, and the checks of one parsed row against it."""

    def __init__(self, path: str, block_size: int, max_errors: int | None, require_token_counts: bool,
                 max_line_bytes: int) -> None:
        self.report = ValidationReport(path=path, block_size=block_size)
        self.bs = block_size
        self.max_line = max_line_bytes
        self.max_errors = max_errors
        self.require_token_counts = require_token_counts
        self.registry = BlockSizeRegistry(block_size)
        self.form: str | None = None
        self.form_line = 0
        self.prev_ts: float | None = None
        self.prev_ts_line = 0
        self.session: str | None = None
        self.session_start = 0
        self.session_last = 0
        self.closed = SeenSessions()
        self.repeats: list[tuple[int, str]] = []  # (line, session id) of a session whose rows had ended
        self.conflicts: list[SizeConflict] = []
        self.pending_blank = 0
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
        self.counts.clear()
        self.lasts.clear()
        self.lines.clear()

    def register(self, ids: np.ndarray, counts: np.ndarray, lasts: np.ndarray, lines: np.ndarray) -> None:
        """Check rows' ids (flat, with per-row counts, last-block sizes and lines) against earlier sizes."""
        if not ids.size:
            return
        sizes = np.full(ids.size, self.bs, dtype=np.int32)
        sizes[np.cumsum(counts) - 1] = lasts
        for c in self.registry.add(ids, sizes, np.repeat(lines.astype(np.int32), counts)):
            self.report.violation_count += 1
            if len(self.conflicts) < MAX_KEPT:
                self.conflicts.append(c)

    def close_session(self) -> None:
        if self.session is not None:
            self.closed.add(self.session)

    # -- one line ----------------------------------------------------------------------------
    def line(self, line_no: int, raw: bytes, has_newline: bool) -> bool:
        """Parse and check one non-blank line; True when the file is not a trace at all (stop)."""
        try:
            obj = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            if line_no == 1 and raw.lstrip()[:1] == b"<":
                self.add(1, "", "the file is an HTML page, not JSONL (an error page saved in place of the trace?)")
                return True
            self.add(line_no, "", bad_line_reason(raw, exc, has_newline))
            return False
        if type(obj) is not dict:
            self.add(line_no, "", f"a row must be a JSON object, got {describe(obj)}")
            return False
        # every key has a ':' after it: as many ':' as parsed keys means no key was repeated (orjson keeps
        # the last of two, other readers the first); more ':' (nested objects, ':' in a string) are rechecked
        if raw.count(b":") != len(obj):
            try:
                strict_json.loads(raw)
            except strict_json.DuplicateKeyError as exc:
                self.add(line_no, exc.key, duplicate_key_reason(exc.key))
                return False
        self.report.rows += 1
        self.row(line_no, obj, b"true" in raw or b"false" in raw)
        return False

    # -- one row -----------------------------------------------------------------------------
    def row(self, line: int, r: dict[str, Any], maybe_bool: bool = True) -> None:
        """Check one parsed row. ``maybe_bool`` is false when the raw line has no true/false literal."""
        length, out = r.get("input_length"), r.get("output_length")
        ts, d = r.get("timestamp", 0), r.get("delay", 0)
        g, rs = r.get("group_id", 0), r.get("is_restart", False)
        # The common, valid shape is recognised with a few type/range tests (the bounds of rules.FIELDS);
        # anything else goes through the exhaustive checks, which name every problem.
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
        for fld, why in input_problems(r, self.require_token_counts) + value_problems(r, ("session_id", "hash_ids")):
            self.add(line, fld, why)
        if "hash_ids" in r:
            length = r.get("input_length")
            ok = "input_length" in r and value_problem(FIELDS["input_length"], length) is None
            self.hash_ids(line, r["hash_ids"], length if ok else None, "input_length" in r, maybe_bool)

    def hash_ids(self, line: int, ids: object, length: int | None, has_length: bool, maybe_bool: bool = True) -> None:
        if not has_length:
            self.add(line, "hash_ids", "only allowed together with input_length")
            return
        if type(ids) is not list:
            self.add(line, "hash_ids", f"must be a list of integers, got {describe(ids)}")
            return
        buf = self.ids
        before = len(buf)
        # array('q').extend is the integer check at C speed (floats and strings raise TypeError, values
        # beyond 64 bits OverflowError); bools pass it, so lines with a true/false literal are scanned.
        try:
            buf.extend(ids)
        except (TypeError, OverflowError):
            del buf[before:]
            self.add(line, "hash_ids", bad_hash_id(ids) or "must be a list of integers")
            return
        n, bs = len(ids), self.bs
        if n and (min(ids) < 0 or (maybe_bool and any(type(h) is bool for h in ids))):
            del buf[before:]
            self.add(line, "hash_ids", bad_hash_id(ids) or "must be a list of integers")
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
        if len(buf) >= FLUSH_IDS:
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
        for fld, why in placement_problems(r, "single"):
            self.add(line, fld, why)
        ts = r.get("timestamp")
        if (type(ts) is int or type(ts) is float) and value_problem(FIELDS["timestamp"], ts) is None:
            if self.prev_ts is not None and ts < self.prev_ts:
                self.add(line, "timestamp", f"{ts} is earlier than {self.prev_ts} at line {self.prev_ts_line}; "
                         "single-turn timestamps must not decrease")
            self.prev_ts, self.prev_ts_line = ts, line

    def multi_turn(self, line: int, r: dict[str, Any]) -> None:
        sid = r["session_id"]
        why = value_problem(FIELDS["session_id"], sid)
        if why is not None:
            self.add(line, "session_id", why)
            return
        if not self.set_form(line, "multi-turn"):
            return
        turn0 = sid != self.session
        if turn0:
            self.close_session()
            if sid in self.closed:  # confirmed, with the earlier lines, by the validator's second pass
                self.report.violation_count += 1
                if len(self.repeats) < MAX_KEPT:
                    self.repeats.append((line, sid))
            self.session, self.session_start = sid, line
            self.report.sessions += 1
        self.session_last = line
        for fld, why in placement_problems(r, "turn0" if turn0 else "later", sid, self.session_start):
            self.add(line, fld, why)
