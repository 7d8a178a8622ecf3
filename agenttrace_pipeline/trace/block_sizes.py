"""Block-size registry: every hash id must denote one block of one size across a whole file.

A prefix cache keys blocks by id, so an id that is a 200-token partial block in one row and a full
512-token block in another makes the trace unreplayable (the replayer cannot build one token block for
it). The registry remembers the size of every id it has seen, in about 2 bits per id plus 2 bytes per
*partial* id (at most one per row): ids in generated and FAST'25 traces are dense integers from 0, so two
bitmaps over ``[0, max id]`` say "seen as a full block" and "seen as a partial block", and the sizes of
partial blocks are kept per superblock of 65,536 ids in id order (an id's slot is the count of partial
bits before it). Ids far outside any bitmap budget (random 64-bit ids) go to a dict.

It does not keep the line where each id was first seen — that would cost more than everything else; the
validator recovers those lines in a second pass, only for the ids that conflict.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SB_BITS = 16  # ids per superblock of partial sizes: 2**16
_SB_BYTES = 1 << (SB_BITS - 3)
_MIN_IDS = 1 << 26  # the bitmaps may always cover this many ids (16 MB for both)


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


def _bits(bitmap: np.ndarray, ids: np.ndarray) -> np.ndarray:
    return (bitmap[ids >> 3] >> (ids & 7).astype(np.uint8)) & 1 != 0


def _set_bits(bitmap: np.ndarray, ids: np.ndarray, on: bool = True) -> None:
    masks = np.left_shift(np.uint8(1), (ids & 7).astype(np.uint8))
    if on:
        np.bitwise_or.at(bitmap, ids >> 3, masks)
    else:
        np.bitwise_and.at(bitmap, ids >> 3, ~masks)


class BlockSizeRegistry:
    """Accumulates (id, size, line) triples chunk by chunk and returns the ones that contradict earlier sizes."""

    def __init__(self, block_size: int) -> None:
        self.bs = block_size
        self._size_dtype = np.uint16 if block_size < 2**16 else np.uint32
        self._full = np.zeros(0, np.uint8)  # bit i: id i was seen as a full block
        self._part = np.zeros(0, np.uint8)  # bit i: id i was seen as a partial block
        self._psizes: dict[int, np.ndarray] = {}  # superblock -> sizes of its partial ids, in id order
        self._sparse: dict[int, int] = {}  # ids beyond the bitmaps -> size
        self._seen = 0

    @property
    def distinct_ids(self) -> int:
        step = 1 << 22  # in slices: no temporary as large as the bitmaps
        n = sum(int(np.bitwise_count(self._full[i:i + step] | self._part[i:i + step]).sum())
                for i in range(0, self._full.size, step))
        return n + len(self._sparse)

    @property
    def nbytes(self) -> int:
        """Memory held by the registry's arrays (the sparse dict counted at ~100 bytes an entry)."""
        return (self._full.nbytes + self._part.nbytes + sum(a.nbytes + 112 for a in self._psizes.values())
                + 100 * len(self._sparse))

    def add(self, ids: np.ndarray, sizes: np.ndarray, lines: np.ndarray) -> list[SizeConflict]:
        """Register ids (in file order, with their sizes and lines) and return conflicts, ordered by line."""
        if ids.size == 0:
            return []
        self._seen += int(ids.size)
        self._grow(ids)
        dense = (ids >= 0) & (ids < self._full.size * 8)
        if dense.all():
            conflicts = self._add_dense(ids, sizes, lines)
        else:
            conflicts = self._add_dense(ids[dense], sizes[dense], lines[dense])
            conflicts += self._add_sparse(ids[~dense], sizes[~dense], lines[~dense])
            conflicts.sort(key=lambda c: c.line)
        return conflicts

    # -- bitmaps -------------------------------------------------------------------------------------
    def _grow(self, ids: np.ndarray) -> None:
        """Widen the bitmaps to cover ``ids`` when that stays within budget (~2 bytes per id seen)."""
        budget = max(_MIN_IDS, 8 * self._seen)
        top = int(ids.max()) + 1
        have = self._full.size * 8
        if top <= have:
            return
        if top > budget:  # out of reach: these ids go to the dict; still cover what the budget allows
            top = int(ids[ids < budget].max(initial=-1)) + 1
            if top <= have:
                return
        want = min(max(top, have + have // 4), budget)
        nbytes = -(-want // (8 * _SB_BYTES)) * _SB_BYTES
        for bitmap in (self._full, self._part):  # in place (realloc, zero-filled): no old + new copy at once
            bitmap.resize(nbytes, refcheck=False)
        moved = [(h, s) for h, s in self._sparse.items() if h < nbytes * 8]
        if moved:
            for h, _ in moved:
                del self._sparse[h]
            arr = np.array([h for h, _ in moved], np.int64)
            sz = np.array([s for _, s in moved], np.int64)
            _set_bits(self._full, arr[sz == self.bs])
            self._store_partials(arr[sz != self.bs], sz[sz != self.bs])

    def _partial_sizes(self, ids: np.ndarray) -> np.ndarray:
        """Sizes of ids whose partial bit is set."""
        out = np.empty(ids.size, np.int64)
        sbs = ids >> SB_BITS
        for sb in np.unique(sbs).tolist():
            sel = sbs == sb
            ranks = np.cumsum(np.unpackbits(self._part[sb * _SB_BYTES:(sb + 1) * _SB_BYTES], bitorder="little"))
            out[sel] = self._psizes[sb][ranks[ids[sel] & ((1 << SB_BITS) - 1)].astype(np.int64) - 1]
        return out

    def _store_partials(self, ids: np.ndarray, sizes: np.ndarray) -> None:
        """Record new partial ids (each once, not yet set) with their sizes."""
        if not ids.size:
            return
        sbs = ids >> SB_BITS
        for sb in np.unique(sbs).tolist():
            sel = sbs == sb
            off = ids[sel] & ((1 << SB_BITS) - 1)
            order = np.argsort(off)
            old = np.flatnonzero(np.unpackbits(self._part[sb * _SB_BYTES:(sb + 1) * _SB_BYTES], bitorder="little"))
            prev = self._psizes.get(sb, np.zeros(0, self._size_dtype))
            self._psizes[sb] = np.insert(prev, np.searchsorted(old, off[order]), sizes[sel][order].astype(self._size_dtype))
        _set_bits(self._part, ids)

    def _add_dense(self, ids: np.ndarray, sizes: np.ndarray, lines: np.ndarray) -> list[SizeConflict]:
        if not ids.size:
            return []
        full = sizes == self.bs
        pre_full, pre_part = _bits(self._full, ids), _bits(self._part, ids)
        prior = np.where(pre_full, self.bs, 0)
        if pre_part.any():
            prior[pre_part] = self._partial_sizes(ids[pre_part])
        known = prior != 0
        new_full, new_part = full & ~known, ~full & ~known
        _set_bits(self._full, ids[new_full])  # first, so a new partial id also used as full here shows up
        p_ids, p_sizes = ids[new_part], sizes[new_part]
        u_ids, first, inverse = np.unique(p_ids, return_index=True, return_inverse=True)
        clash = (known & (sizes != prior)).any() or _bits(self._full, p_ids).any()
        if clash or (p_sizes != p_sizes[first][inverse]).any():
            return self._add_exact(ids, sizes, lines, prior)
        self._store_partials(u_ids, p_sizes[first])
        return []

    def _add_exact(self, ids: np.ndarray, sizes: np.ndarray, lines: np.ndarray, prior: np.ndarray) -> list[SizeConflict]:
        """The chunk has a conflict: compare every occurrence with the id's earlier size, or with its first
        occurrence in this chunk, and record the first occurrence of new ids."""
        order = np.argsort(ids, kind="stable")  # stable: within one id, file order is kept
        s_ids, s_sizes, s_prior = ids[order], sizes[order], prior[order]
        first = np.empty(s_ids.size, dtype=bool)
        first[0] = True
        np.not_equal(s_ids[1:], s_ids[:-1], out=first[1:])
        first_idx = np.maximum.accumulate(np.where(first, np.arange(s_ids.size), 0))
        known = s_prior != 0
        ref_size = np.where(known, s_prior, s_sizes[first_idx])
        new = first & ~known
        new_ids, new_sizes = s_ids[new], s_sizes[new]
        _set_bits(self._full, new_ids[new_sizes != self.bs], on=False)  # undo a full bit a later use set
        _set_bits(self._full, new_ids[new_sizes == self.bs])
        self._store_partials(new_ids[new_sizes != self.bs], new_sizes[new_sizes != self.bs])
        bad = np.flatnonzero(s_sizes != ref_size)
        s_lines = lines[order]
        # within this chunk the first sighting's line is known; for earlier chunks it is looked up later
        ref_line = np.where(known, 0, s_lines[first_idx])
        out = [SizeConflict(int(s_lines[i]), int(s_ids[i]), int(s_sizes[i]), int(ref_line[i]), int(ref_size[i]))
               for i in bad]
        out.sort(key=lambda c: c.line)
        return out

    def _add_sparse(self, ids: np.ndarray, sizes: np.ndarray, lines: np.ndarray) -> list[SizeConflict]:
        out: list[SizeConflict] = []
        for hid, size, line in zip(ids.tolist(), sizes.tolist(), lines.tolist(), strict=True):
            prev = self._sparse.get(hid)
            if prev is None:
                self._sparse[hid] = size
            elif prev != size:
                out.append(SizeConflict(line, hid, size, 0, prev))
        return out
