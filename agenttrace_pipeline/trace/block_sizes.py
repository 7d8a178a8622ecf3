"""Block-size registry: every hash id must denote one block of one size across a whole file.

A prefix cache keys blocks by id, so an id that is a 200-token partial block in one row and a full
512-token block in another makes the trace unreplayable (the replayer cannot build one token block for
it). The registry remembers the size and first line of every id in compact numpy arrays (ids in generated
and FAST'25 traces are dense integers from 0), with a dict for the rare ids far beyond the dense range.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_MIN_DENSE = 1 << 22
_GROWTH = 1.25


@dataclass(frozen=True, slots=True)
class SizeConflict:
    """``hash_id`` appears at ``line`` with ``size`` tokens but was first seen at ``first_line`` with ``first_size``."""

    line: int
    hash_id: int
    size: int
    first_line: int
    first_size: int


class BlockSizeRegistry:
    """Accumulates (id, size, line) triples chunk by chunk and returns the ones that contradict earlier sizes."""

    def __init__(self, block_size: int) -> None:
        size_dtype = np.uint16 if block_size < 2**16 else np.uint32
        self._size = np.zeros(0, dtype=size_dtype)  # 0 = never seen (a block has at least 1 token)
        self._line = np.zeros(0, dtype=np.uint32)
        self._sparse: dict[int, tuple[int, int]] = {}
        self._seen = 0

    @property
    def distinct_ids(self) -> int:
        return int(np.count_nonzero(self._size)) + len(self._sparse)

    def add(self, ids: np.ndarray, sizes: np.ndarray, lines: np.ndarray) -> list[SizeConflict]:
        """Register ids (in file order) and return conflicts, ordered by line."""
        if ids.size == 0:
            return []
        self._seen += int(ids.size)
        dense_limit = max(_MIN_DENSE, 4 * self._seen)
        dense = ids < dense_limit
        conflicts: list[SizeConflict] = []
        if dense.all():
            conflicts += self._add_dense(ids, sizes, lines)
        else:
            conflicts += self._add_dense(ids[dense], sizes[dense], lines[dense])
            conflicts += self._add_sparse(ids[~dense], sizes[~dense], lines[~dense])
        conflicts.sort(key=lambda c: c.line)
        return conflicts

    def _grow(self, needed: int) -> None:
        new_len = max(needed, int(len(self._size) * _GROWTH), 1 << 16)
        size = np.zeros(new_len, dtype=self._size.dtype)
        size[: len(self._size)] = self._size
        line = np.zeros(new_len, dtype=np.uint32)
        line[: len(self._line)] = self._line
        self._size, self._line = size, line
        # Ids that were sparse before the dense range grew over them move into the arrays.
        for hid in [h for h in self._sparse if h < new_len]:
            s, ln = self._sparse.pop(hid)
            self._size[hid], self._line[hid] = s, ln

    def _add_dense(self, ids: np.ndarray, sizes: np.ndarray, lines: np.ndarray) -> list[SizeConflict]:
        if ids.size == 0:
            return []
        top = int(ids.max())
        if top >= len(self._size):
            self._grow(top + 1)
        order = np.argsort(ids, kind="stable")  # stable: within one id, file order is kept
        s_ids, s_sizes, s_lines = ids[order], sizes[order], lines[order]
        first = np.empty(s_ids.size, dtype=bool)
        first[0] = True
        np.not_equal(s_ids[1:], s_ids[:-1], out=first[1:])
        first_idx = np.maximum.accumulate(np.where(first, np.arange(s_ids.size), 0))
        prior = self._size[s_ids].astype(np.int32)
        known = prior != 0
        ref_size = np.where(known, prior, s_sizes[first_idx])
        ref_line = np.where(known, self._line[s_ids], s_lines[first_idx])
        bad = s_sizes != ref_size
        new = first & ~known
        self._size[s_ids[new]] = s_sizes[new]
        self._line[s_ids[new]] = s_lines[new]
        if not bad.any():
            return []
        idx = np.flatnonzero(bad)
        return [
            SizeConflict(int(s_lines[i]), int(s_ids[i]), int(s_sizes[i]), int(ref_line[i]), int(ref_size[i]))
            for i in idx
        ]

    def _add_sparse(self, ids: np.ndarray, sizes: np.ndarray, lines: np.ndarray) -> list[SizeConflict]:
        out: list[SizeConflict] = []
        for hid, size, line in zip(ids.tolist(), sizes.tolist(), lines.tolist(), strict=True):
            prev = self._sparse.get(hid)
            if prev is None:
                self._sparse[hid] = (size, line)
            elif prev[0] != size:
                out.append(SizeConflict(line, hid, size, prev[1], prev[0]))
        return out
