"""Prompt text from hash ids, and the replay plan of a Mooncake dataset.

Text rule (inverted by the simulated engine's byte-level token rule, :mod:`agenttrace_pipeline.simserver.tokens`):

* hash id ``h`` stands for one block of text: a newline (the separator, so two blocks never merge into one
  token under a BPE tokenizer) followed by printable ASCII drawn from SHAKE-128 of ``"block:h"`` — the same
  text in every run and every file;
* one token = one ASCII character; a row's ids make ``block_size`` characters each except the last, which
  makes ``input_length - (n-1)·block_size`` (a prefix of the same stream, so a partial block is a prefix of
  the full one);
* turn ``k`` of a session is turn-0 text + live reply 0 + new text of turn 1 + live reply 1 + … + new text of
  turn ``k`` (AIPerf's rule, REFERENCE §2); single-turn (FAST'25) rows are each a whole prompt.

With a real tokenizer a block makes fewer tokens than characters; the replayer compares the expected count
with ``usage.prompt_tokens`` per request and reports the deviation.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from agenttrace_pipeline.cachesim.workload import Workload
from agenttrace_pipeline.simserver.tokens import TABLE
from agenttrace_pipeline.trace.reader import iter_rows


@lru_cache(maxsize=1 << 16)
def block_text(hash_id: int, length: int) -> str:
    """``length`` characters of hash id ``hash_id``'s text (a newline, then its ASCII stream)."""
    if length <= 0:
        return ""
    return "\n" + hashlib.shake_128(f"block:{hash_id}".encode()).digest(length - 1).translate(TABLE).decode()


def row_text(ids: np.ndarray, input_length: int, block_size: int) -> str:
    """The new text of one row: full blocks for all ids but the last, which holds the remainder."""
    n = int(ids.size)
    if n == 0:
        return ""
    last = int(input_length) - (n - 1) * block_size
    return "".join(block_text(int(h), block_size) for h in ids[:-1]) + block_text(int(ids[-1]), last)


@dataclass(frozen=True)
class Plan:
    """Requests to replay, in file order, grouped in sessions (``sessions[s]`` = row numbers, turn order)."""

    workload: Workload
    rows: np.ndarray  # int64 row numbers kept (after the request limit)
    sessions: list[list[int]]
    multi_turn: bool

    def text(self, row: int) -> str:
        w = self.workload
        return row_text(w.ids[w.ids_off[row]: w.ids_off[row + 1]], int(w.input_len[row]), w.block_size)

    def start_ms(self, session: int) -> float:
        """Timestamp of a session's first row (0 when absent)."""
        t = float(self.workload.timestamp[self.sessions[session][0]])
        return 0.0 if np.isnan(t) else t


def plan(dataset: Path | Workload, max_requests: int | None = None) -> Plan:
    """Read a Mooncake JSONL (raising TraceReadError naming file, line, field) and keep its first ``max_requests`` rows."""
    w = dataset if isinstance(dataset, Workload) else Workload.from_file(dataset)
    n = w.n_requests if max_requests is None else min(w.n_requests, max_requests)
    if n < w.n_requests and not isinstance(dataset, Workload):  # the simulator's prediction covers these rows only
        rows = [row for i, (_, row) in zip(range(n), iter_rows(dataset), strict=False)]
        w = Workload.from_rows(rows, block_size=w.block_size, layer_ranges=w.layer_ranges)
    sessions: list[list[int]] = []
    if w.cumulative:
        for s in range(w.n_sessions):
            lo, hi = int(w.sess_first[s]), min(int(w.sess_first[s + 1]), n)
            if lo >= n:
                break
            sessions.append(list(range(lo, hi)))
    else:
        sessions = [[r] for r in range(n)]
    order = sorted(range(len(sessions)), key=lambda s: (_ts(w, sessions[s][0]), s))
    return Plan(w, np.arange(n, dtype=np.int64), [sessions[s] for s in order], bool(w.cumulative))


def _ts(w: Workload, row: int) -> float:
    t = float(w.timestamp[row])
    return 0.0 if np.isnan(t) else t
