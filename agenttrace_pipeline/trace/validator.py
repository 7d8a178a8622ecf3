"""Streaming validator for Mooncake traces: row schema plus the cross-row rules a replayer relies on.

Row rules (what AIPerf's validator checks): each row is a JSON object with exactly one of
input_length / text_input / messages / payload, and hash_ids only together with input_length.

Rules beyond it (declared in :mod:`agenttrace_pipeline.trace.rules`): integer, positive, bounded lengths;
no repeated keys; ``(n-1)*bs < input_length <= n*bs`` for ``n`` hash ids; every hash id keeps one block
size across the file; rows of a session are contiguous; a session's turn 0 has ``timestamp >= 0`` and no
delay, later turns a ``delay >= 0`` and no timestamp; ``group_id``/``is_restart`` only on turn 0;
single-turn timestamps never decrease; single-turn and multi-turn rows are not mixed.

Memory stays flat in the number of rows and lines: the file (gzip read transparently) is read in blocks,
overlong lines are skipped, hash ids are checked in chunks against :class:`BlockSizeRegistry` (~2 bits an
id) and closed sessions are kept as hashes. Large files go through the vectorised fast path
(:mod:`agenttrace_pipeline.trace.fast_path`), chunk by chunk, falling back to the exact row checks.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from agenttrace_pipeline.trace.files import CorruptGzip, consumed, is_compressed, open_trace
from agenttrace_pipeline.trace.model import BLOCK_SIZE, MAX_LINE_BYTES
from agenttrace_pipeline.trace.reader import CHUNK_BYTES, CR_ONLY_REASON, Block, CrOnly, LongLine, iter_blocks, long_line_reason
from agenttrace_pipeline.trace.report import ValidationReport, Violation
from agenttrace_pipeline.trace.row_checks import RowChecker
from agenttrace_pipeline.trace.second_pass import first_sightings

__all__ = ["ValidationReport", "Violation", "validate_file"]

FAST_PATH_MIN_BYTES = 16 << 20  # smaller files skip the vectorised path (and polars' import time)


class _Run(RowChecker):
    """One validation pass over blocks of lines."""

    def block(self, ev: Block, fast: bool) -> bool:
        """Validate the lines of ``ev``; True when validation must stop."""
        if fast and self.certified(ev):
            return False
        return self.lines_of(ev.data, ev.first_line)

    def certified(self, ev: Block) -> bool:
        from agenttrace_pipeline.trace.fast_path import certify

        first_line = ev.first_line
        c = certify(ev.data, first_line, ev.newlines, self)
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
            self.close_session()
            self.closed.add_many(c.run_ids[:-1])
            self.session, self.session_start = c.run_ids[-1], c.run_first
            rep.sessions += len(c.run_ids)
        if c.form == "multi-turn":
            self.session_last = first_line + c.rows - 1
        if c.last_ts_line:
            self.prev_ts, self.prev_ts_line = c.last_ts, c.last_ts_line
        self.flush_hash_ids()  # keep file order: earlier slow-path rows first
        self.register(c.ids, c.counts, c.lasts, c.lines)
        return True

    def lines_of(self, data: bytes, first_line: int) -> bool:
        parts = data.split(b"\n")
        last_has_newline = data.endswith(b"\n")
        if last_has_newline:
            parts.pop()
        for offset, raw in enumerate(parts):
            line_no = first_line + offset
            if raw.endswith(b"\r"):
                raw = raw[:-1]
            if not raw.strip():
                self.pending_blank = self.pending_blank or line_no
                continue
            if self.pending_blank:
                self.add(self.pending_blank, "", "blank line inside the trace")
                self.pending_blank = 0
            if len(raw) > self.max_line:
                self.add(line_no, "", long_line_reason(len(raw), self.max_line, exact=True))
            elif self.line(line_no, raw, last_has_newline or offset < len(parts) - 1):
                return True
            if self.full:
                self.report.stopped_early = True
                return True
        return False

    def stream(self, fh: BinaryIO, fast: bool, progress: Callable[[int], None] | None) -> None:
        """Feed ``fh`` to the checks in blocks of whole lines."""
        line_no = 1
        try:
            for ev in iter_blocks(fh, self.max_line, CHUNK_BYTES):
                if isinstance(ev, LongLine):
                    line_no = ev.line + 1
                    self.add(ev.line, "", long_line_reason(ev.length, self.max_line))
                    if self.full:
                        self.report.stopped_early = True
                        return
                    continue
                if isinstance(ev, CrOnly):
                    self.add(ev.line, "", CR_ONLY_REASON)
                    return
                if self.block(ev, fast):
                    return
                line_no = ev.first_line + ev.newlines
                if progress is not None:
                    progress(consumed(fh))
        except CorruptGzip as exc:  # reported at the first line not read whole
            self.add(line_no, "", str(exc))

    def resolve(self, source: str | Path | BinaryIO) -> None:
        """Turn size conflicts and repeated sessions into violations, with the lines of first sightings
        (a second pass over the file, only when there is something to look up)."""
        unknown = {c.hash_id for c in self.conflicts if c.first_line == 0}
        sids = {sid for _, sid in self.repeats}
        first_ids: dict[int, int] = {}
        runs: dict[str, list[tuple[int, int]]] = {}
        if (unknown or sids) and isinstance(source, (str, Path)):
            first_ids, runs = first_sightings(source, unknown, sids, self.max_line)
        for c in self.conflicts:
            line = c.first_line or first_ids.get(c.hash_id, 0)
            where = f"at line {line}" if line else "earlier in the file"
            self.report.violations.append(Violation(
                c.line, "hash_ids",
                f"hash id {c.hash_id} is a block of {c.size} tokens here but of {c.first_size} tokens "
                f"{where}; an id must keep one block size across the file"))
        for line, sid in self.repeats:
            earlier = [r for r in runs.get(sid, []) if r[1] < line]
            if isinstance(source, (str, Path)) and not earlier:
                self.report.violation_count -= 1  # two session ids with one hash: not a repeat
                continue
            where = f"at lines {earlier[-1][0]}-{earlier[-1][1]}" if earlier else "earlier in the file"
            self.report.violations.append(Violation(
                line, "session_id", f"session {sid!r} already had rows {where}; rows of a session must be contiguous"))
        self.conflicts.clear()
        self.repeats.clear()


def validate_file(
    path: str | Path | BinaryIO,
    block_size: int = BLOCK_SIZE,
    max_errors: int | None = None,
    progress: Callable[[int], None] | None = None,
    name: str | None = None,
    *,
    require_token_counts: bool = False,
    max_line_bytes: int = MAX_LINE_BYTES,
) -> ValidationReport:
    """Validate a Mooncake trace file (plain or gzip-compressed), streaming.

    Parameters
    ----------
    path: the JSONL trace, or an open binary stream of it (then ``name`` labels the report).
    block_size: tokens per hash-id block (512 for FAST'25 and AIPerf).
    max_errors: stop after this many violations (``None``: check the whole file).
    progress: called with the number of bytes of the file read so far, about every 4 MB.
    require_token_counts: reject rows that carry text_input/messages/payload instead of input_length
        (AIPerf replays them, but the trace table cannot store them).
    max_line_bytes: longer lines are reported and skipped without being read whole.

    Returns a :class:`ValidationReport`; ``readable`` is false (and ``valid`` false) when the file cannot
    be opened or read at all.
    """
    if block_size < 1:
        raise ValueError(f"block_size must be >= 1, got {block_size}")
    if max_line_bytes < 1:
        raise ValueError(f"max_line_bytes must be >= 1, got {max_line_bytes}")
    run = _Run(name or str(path), block_size, max_errors, require_token_counts, max_line_bytes)
    rep = run.report
    try:
        fast = not isinstance(path, (str, Path)) or os.stat(path).st_size >= FAST_PATH_MIN_BYTES
        with open_trace(path) as fh:
            rep.compressed = is_compressed(fh)
            run.stream(fh, fast, progress)
            if progress is not None:
                progress(consumed(fh))
    except OSError as exc:
        rep.readable = False
        run.add(0, "", f"cannot read file: {exc.strerror or exc}")
        return rep
    run.flush_hash_ids()
    run.resolve(path)
    if rep.rows == 0 and rep.violation_count == 0:
        run.add(0, "", "the file is empty: no rows")
    rep.form = run.form or "empty"
    rep.distinct_hash_ids = run.registry.distinct_ids
    rep.index_bytes = run.registry.nbytes + run.closed.nbytes
    rep.violations.sort(key=lambda v: v.line)
    if max_errors is not None and len(rep.violations) > max_errors:
        del rep.violations[max_errors:]
    return rep
