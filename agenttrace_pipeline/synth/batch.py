"""Simulated sessions as numpy arrays: :class:`Batch` (one set of sessions) and :class:`Sessions` (a run's
primaries in output order with the restart continuations they split off)."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

_PER_SESSION = ("c0", "group", "end", "final_input", "final_output")
_PER_ROW = ("new", "out", "delay")


@dataclass
class Batch:
    """Simulated sessions; rows of session s are ``row_start[s] : row_start[s + 1]`` (turn 0 first)."""

    c0: np.ndarray  # turn-0 input_length
    group: np.ndarray
    row_start: np.ndarray
    new: np.ndarray  # per row: turn 0 → c0, later → new tokens
    out: np.ndarray  # per row
    delay: np.ndarray  # per row, NaN on turn 0
    end: np.ndarray  # end reason per session
    final_input: np.ndarray  # cumulative input of the last accepted turn
    final_output: np.ndarray

    @property
    def n(self) -> int:
        return int(self.c0.size)

    @property
    def turns(self) -> np.ndarray:
        return np.diff(self.row_start)

    @property
    def later(self) -> np.ndarray:
        """Mask of the rows after turn 0."""
        mask = np.ones(self.new.size, bool)
        mask[self.row_start[:-1]] = False
        return mask

    @classmethod
    def empty(cls) -> Batch:
        i, f = np.zeros(0, np.int64), np.zeros(0, np.float64)
        return cls(i, i, np.zeros(1, np.int64), i, i, f, np.zeros(0, np.int8), i, i)

    def take(self, sel: np.ndarray) -> Batch:
        """The sessions at the ascending indices ``sel``."""
        sel = np.asarray(sel, dtype=np.int64)
        turns = self.turns[sel]
        rows = np.repeat(self.row_start[sel] - np.concatenate([[0], np.cumsum(turns)[:-1]]), turns) + np.arange(turns.sum())
        start = np.zeros(sel.size + 1, np.int64)
        np.cumsum(turns, out=start[1:])
        per_session = {k: getattr(self, k)[sel] for k in _PER_SESSION}
        return Batch(row_start=start, **per_session, **{k: getattr(self, k)[rows] for k in _PER_ROW})

    def slice(self, a: int, b: int) -> Batch:
        """Sessions ``a .. b-1``."""
        r0, r1 = int(self.row_start[a]), int(self.row_start[b])
        per_session = {k: getattr(self, k)[a:b] for k in _PER_SESSION}
        return Batch(row_start=self.row_start[a:b + 1] - r0, **per_session,
                     **{k: getattr(self, k)[r0:r1] for k in _PER_ROW})

    @classmethod
    def concat(cls, parts: list[Batch]) -> Batch:
        if len(parts) == 1:
            return parts[0]
        start = np.zeros(sum(p.n for p in parts) + 1, np.int64)
        np.cumsum(np.concatenate([p.turns for p in parts]), out=start[1:])
        cols = {f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(cls) if f.name != "row_start"}
        return cls(row_start=start, **cols)


@dataclass
class Sessions:
    """Primaries ``first .. first + n - 1`` in output order, and the restart continuations they split off.

    Continuation ``j`` belongs to primary ``origin[j]`` (ascending) and is written right after primary
    ``placement[j]`` (at least a quarter of the run later, so A and B never share a concurrency window).
    """

    first: int
    primaries: Batch
    continuations: Batch
    origin: np.ndarray
    placement: np.ndarray

    @property
    def n(self) -> int:
        return self.primaries.n

    def slice(self, a: int, b: int) -> Sessions:
        """Primaries ``first + a .. first + b - 1`` with their continuations."""
        sel = np.flatnonzero((self.origin >= self.first + a) & (self.origin < self.first + b))
        return Sessions(self.first + a, self.primaries.slice(a, b), self.continuations.take(sel), self.origin[sel],
                        self.placement[sel])

    @classmethod
    def concat(cls, parts: list[Sessions]) -> Sessions:
        if len(parts) == 1:
            return parts[0]
        return cls(parts[0].first, Batch.concat([p.primaries for p in parts]),
                   Batch.concat([p.continuations for p in parts]),
                   np.concatenate([p.origin for p in parts]), np.concatenate([p.placement for p in parts]))
