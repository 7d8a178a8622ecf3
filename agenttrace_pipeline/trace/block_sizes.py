"""Block-size registry: every hash id must denote one block of one size across a whole file.

A prefix cache keys blocks by id, so an id that is a 200-token partial block in one row and a full
512-token block in another makes the trace unreplayable (the replayer cannot build one token block for
it). The registry remembers the size of every id it has seen: 2 bytes per id in pages of 4M ids that are
allocated when first touched (ids in generated and FAST'25 traces are dense integers from 0; a
million-session file has ~270M of them), with a dict for ids far outside any page budget. It does not
keep the line where each id was first seen — that would triple its memory; the validator recovers
those lines in a second pass, only for the ids that conflict.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PAGE_BITS = 22
PAGE = 1 << PAGE_BITS


@dataclass(frozen=True, slots=True)
class SizeConflict:
    """``hash_id`` appears at ``line`` with ``size`` tokens but was first seen with ``first_size``.

    ``first_line`` is 0 until the validator looks it up (see :func:`validate_file`).
    """

    line: int
    hash_id: int
    size: int
    first_line: int
    first_size: int


class BlockSizeRegistry:
    """Accumulates (id, size, line) triples chunk by chunk and returns the ones that contradict earlier sizes."""

    def __init__(self, block_size: int) -> None:
        self._dtype = np.uint16 if block_size < 2**16 else np.uint32
        self._pages: dict[int, np.ndarray] = {}  # page index -> sizes (0 = never seen)
        self._sparse: dict[int, int] = {}
        self._seen = 0

    @property
    def distinct_ids(self) -> int:
        return sum(int(np.count_nonzero(p)) for p in self._pages.values()) + len(self._sparse)

    def _may_allocate(self) -> bool:
        # a page per million ids seen (and 64 to start): random 64-bit ids fall through to the dict
        return len(self._pages) < 64 + self._seen // (1 << 20)

    def add(self, ids: np.ndarray, sizes: np.ndarray, lines: np.ndarray) -> list[SizeConflict]:
        """Register ids (in file order) and return conflicts, ordered by line."""
        if ids.size == 0:
            return []
        self._seen += int(ids.size)
        page_of = ids >> PAGE_BITS
        conflicts: list[SizeConflict] = []
        sparse_mask = np.zeros(ids.size, bool)
        for p in np.unique(page_of).tolist():
            sel = page_of == p
            page = self._pages.get(p)
            if page is None:
                if not self._may_allocate():
                    sparse_mask |= sel
                    continue
                page = self._pages[p] = np.zeros(PAGE, dtype=self._dtype)
            conflicts += self._add_page(page, ids[sel], sizes[sel], lines[sel])
        if sparse_mask.any():
            conflicts += self._add_sparse(ids[sparse_mask], sizes[sparse_mask], lines[sparse_mask])
        conflicts.sort(key=lambda c: c.line)
        return conflicts

    @staticmethod
    def _add_page(page: np.ndarray, ids: np.ndarray, sizes: np.ndarray, lines: np.ndarray) -> list[SizeConflict]:
        off = ids & (PAGE - 1)
        order = np.argsort(off, kind="stable")  # stable: within one id, file order is kept
        s_off, s_sizes = off[order], sizes[order]
        first = np.empty(s_off.size, dtype=bool)
        first[0] = True
        np.not_equal(s_off[1:], s_off[:-1], out=first[1:])
        first_idx = np.maximum.accumulate(np.where(first, np.arange(s_off.size), 0))
        prior = page[s_off].astype(np.int64)
        known = prior != 0
        ref_size = np.where(known, prior, s_sizes[first_idx])
        bad = s_sizes != ref_size
        new = first & ~known
        page[s_off[new]] = s_sizes[new]
        if not bad.any():
            return []
        s_ids, s_lines = ids[order], lines[order]
        # within this chunk the first sighting's line is known; for earlier chunks it is looked up later
        ref_line = np.where(known, 0, s_lines[first_idx])
        return [SizeConflict(int(s_lines[i]), int(s_ids[i]), int(s_sizes[i]), int(ref_line[i]), int(ref_size[i]))
                for i in np.flatnonzero(bad)]

    def _add_sparse(self, ids: np.ndarray, sizes: np.ndarray, lines: np.ndarray) -> list[SizeConflict]:
        out: list[SizeConflict] = []
        for hid, size, line in zip(ids.tolist(), sizes.tolist(), lines.tolist(), strict=True):
            prev = self._sparse.get(hid)
            if prev is None:
                self._sparse[hid] = size
            elif prev != size:
                out.append(SizeConflict(line, hid, size, 0, prev))
        return out
