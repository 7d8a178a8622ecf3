"""Closed sessions of a multi-turn trace, remembered as 64-bit hashes of their ids.

A session's rows must be contiguous, so the validator must know every session it has closed. A dict of
id -> line range costs ~200 bytes a session (600 MB for 3M); a hash costs 8 bytes. A hit only *suggests*
a repeat: the validator confirms it (and finds the earlier rows' lines) in a second pass over the file.
"""

from __future__ import annotations

import numpy as np

_RECENT_MAX = 1 << 16  # hashes kept in a set before they are merged into the sorted array


class SeenSessions:
    """A set of session-id hashes with membership tests for one hash or many."""

    def __init__(self) -> None:
        self._sorted = np.zeros(0, np.int64)
        self._recent: set[int] = set()

    @property
    def nbytes(self) -> int:
        return self._sorted.nbytes + 64 * len(self._recent)  # a set entry with its int: ~64 bytes

    def __len__(self) -> int:
        return self._sorted.size + len(self._recent)

    def add(self, sid: str) -> None:
        self._recent.add(hash(sid))
        if len(self._recent) >= _RECENT_MAX:
            self._merge()

    def add_many(self, sids: list[str]) -> None:
        self._recent.update(map(hash, sids))
        if len(self._recent) >= _RECENT_MAX:
            self._merge()

    def _merge(self) -> None:
        fresh = np.fromiter(self._recent, np.int64, len(self._recent))
        self._sorted = np.union1d(self._sorted, fresh)
        self._recent.clear()

    def __contains__(self, sid: str) -> bool:
        h = hash(sid)
        if h in self._recent:
            return True
        i = int(np.searchsorted(self._sorted, h))
        return i < self._sorted.size and int(self._sorted[i]) == h

    def any_of(self, sids: list[str]) -> bool:
        """Whether any of ``sids`` may have been seen."""
        hs = np.fromiter(map(hash, sids), np.int64, len(sids))
        if self._recent and not self._recent.isdisjoint(hs.tolist()):
            return True
        if not self._sorted.size:
            return False
        at = np.minimum(np.searchsorted(self._sorted, hs), self._sorted.size - 1)
        return bool((self._sorted[at] == hs).any())
