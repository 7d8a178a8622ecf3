"""Mooncake JSONL rows from simulated sessions: hash ids, timestamps and output order.

Sessions are written in primary order; a restart continuation is queued (as numbers) when its Session A is
written and written right after its placement primary. Hash ids are allocated from one counter in the
order rows are written, so the bytes depend only on the sessions, never on how they were batched.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from agenttrace_pipeline.synth.batch import Batch, Sessions
from agenttrace_pipeline.synth.config import SessionDistributionConfig
from agenttrace_pipeline.synth.engine import END_REASONS, SPLIT
from agenttrace_pipeline.synth.hash_ids import IdAllocator, IdText, join_ids, later_row, turn0_row

SESSION_FIELDS = {
    "session_id": "String", "group_id": "Int64", "is_restart": "Boolean", "turns": "Int64",
    "initial_context": "Int64", "end_reason": "String", "timestamp": "Float64", "total_delay_ms": "Float64",
    "input_tokens": "Int64", "output_tokens": "Int64",
}
FLUSH_ROWS = 8192
GAP_CHUNK = 4096


@dataclass
class _Pending:
    """A restart continuation waiting for its placement, kept as numbers (rendered when written)."""

    sid: str
    group: int
    earliest_ms: float  # A's turn-0 timestamp plus A's delays: B never starts before A ends
    reuse: tuple[int, int]  # Session A's whole L2 blocks: (first id, count)
    new: list[int]  # per row; row 0 is B's whole turn-0 context
    out: list[int]
    delay: list[float]
    end: int


class DatasetWriter:
    """Serialises sessions in output order into ``sink`` (anything with ``write(bytes)``)."""

    def __init__(self, cfg: SessionDistributionConfig, seed: int, sink: Any,
                 gaps: Callable[[np.random.Generator, int], np.ndarray], arrivals: np.random.Generator | None,
                 collect: bool = False, byte_limit: int | None = None) -> None:
        self.cfg, self.sink, self.collect, self.byte_limit = cfg, sink, collect, byte_limit
        self._gaps, self._arrivals = gaps, arrivals
        self._alloc = IdAllocator(cfg)
        self._prefix_blocks = cfg.layer1_blocks + cfg.layer1_5_blocks
        self._text = IdText()
        self._tag = f"s{seed}"
        self._gap_buf: list[float] = []
        self._buf: list[str] = []
        self._pending: dict[int, list[_Pending]] = {}
        self._clock_ms = 0.0
        self.rows = self.sessions = self.restarts = self.bytes = self.ids_written = 0
        self.summaries: list[tuple] = []  # one per session with ``collect`` (see SESSION_FIELDS)

    @property
    def hash_id_space(self) -> int:
        return self._alloc.next_id

    def _next_ts(self, earliest: float = 0.0) -> float:
        if self._arrivals is None:
            return 0.0
        if not self._gap_buf:
            self._gap_buf = self._gaps(self._arrivals, GAP_CHUNK).tolist()[::-1]
        ts = self._clock_ms if self.sessions == 0 else self._clock_ms + self._gap_buf.pop()
        self._clock_ms = ts
        return max(ts, earliest)

    def _flush(self) -> None:
        if self._buf:
            data = "".join(self._buf).encode()
            if self.byte_limit is not None and self.bytes + len(data) > self.byte_limit:
                raise OutputLimitExceeded(self.byte_limit)
            self.sink.write(data)
            self.bytes += len(data)
            self._buf.clear()

    def _session(self, sid: str, ids: str, group: int, restart: bool, new: list[int], out: list[int],
                 delay: list[float], earliest: float) -> tuple[float, float]:
        """Write one session's rows; returns (turn-0 timestamp, sum of its delays)."""
        ts = self._next_ts(earliest)
        self._buf.append(turn0_row(sid, new[0], out[0], ids, ts, group, restart))
        first_id = self._alloc.next_id
        for n, o, d in zip(new[1:], out[1:], delay[1:], strict=True):
            start, k = self._alloc.fresh(n)
            self._buf.append(later_row(sid, n, o, self._text.get(start, k), d))
        # ids past the shared prefix (whose ids stay small however long the run is)
        self.ids_written += -(-new[0] // self.cfg.block_size) - self._prefix_blocks + self._alloc.next_id - first_id
        self.rows += len(new)
        self.sessions += 1
        return ts, float(sum(delay[1:]))

    def _primary(self, b: Batch, k: int, sid: str, cont: _Pending | None) -> None:
        lo, hi = int(b.row_start[k]), int(b.row_start[k + 1])
        new, out, delay = b.new[lo:hi].tolist(), b.out[lo:hi].tolist(), b.delay[lo:hi].tolist()
        group, c0 = int(b.group[k]), new[0]
        start, count = self._alloc.fresh(c0 - self.cfg.prefix_tokens)
        ids = join_ids(self._alloc.prefix(group), self._text.get(start, count))
        ts, span = self._session(sid, ids, group, False, new, out, delay, 0.0)
        end = int(b.end[k])
        if self.collect:
            self.summaries.append((sid, group, False, len(new), c0, END_REASONS[end], ts, span, sum(new), sum(out)))
        if cont is not None:  # B reuses A's whole L2 blocks (never its partial last one)
            cont.earliest_ms = ts + span
            cont.reuse = (start, (c0 - self.cfg.prefix_tokens) // self.cfg.block_size)

    def _continuation(self, p: _Pending) -> None:
        bs, prefix = self.cfg.block_size, self.cfg.prefix_tokens
        start, count = self._alloc.fresh(p.new[0] - prefix - p.reuse[1] * bs)
        ids = join_ids(self._alloc.prefix(p.group), self._text.get(*p.reuse), self._text.get(start, count))
        ts, span = self._session(p.sid, ids, p.group, True, p.new, p.out, p.delay, p.earliest_ms)
        self.restarts += 1
        if self.collect:
            self.summaries.append((p.sid, p.group, True, len(p.new), p.new[0], END_REASONS[p.end], ts, span,
                                   sum(p.new), sum(p.out)))

    def _queue(self, s: Sessions) -> dict[int, _Pending]:
        """Continuations of this batch, keyed by their Session A's index (filled in when A is written)."""
        c, queued = s.continuations, {}
        for j, (origin, place) in enumerate(zip(s.origin.tolist(), s.placement.tolist(), strict=True)):
            lo, hi = int(c.row_start[j]), int(c.row_start[j + 1])
            p = _Pending(f"sess-{self._tag}-{origin:07d}-r1", int(c.group[j]), 0.0, (0, 0), c.new[lo:hi].tolist(),
                         c.out[lo:hi].tolist(), c.delay[lo:hi].tolist(), int(c.end[j]))
            queued[origin] = p
            self._pending.setdefault(place, []).append(p)
        return queued

    def write(self, s: Sessions) -> None:
        """Write a batch of primaries, and every continuation placed among them."""
        queued = self._queue(s)
        b = s.primaries
        for k in range(b.n):
            i = s.first + k
            self._primary(b, k, f"sess-{self._tag}-{i:07d}", queued.get(i) if b.end[k] == SPLIT else None)
            for p in self._pending.pop(i, ()):
                self._continuation(p)
            if len(self._buf) > FLUSH_ROWS:
                self._flush()
        self._flush()

    def close(self) -> None:
        """Write continuations placed past the last primary (only when a run is tiny) and flush."""
        for i in sorted(self._pending):
            for p in self._pending[i]:
                self._continuation(p)
        self._pending.clear()
        self._flush()


class OutputLimitExceeded(RuntimeError):
    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"the dataset would exceed the output limit of {limit:,} bytes")
