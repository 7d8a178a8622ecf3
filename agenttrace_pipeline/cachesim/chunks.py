"""Runs of blocks that are always used together, so one-pass analyses can treat them as one unit.

Multi-turn prompts are cumulative: turn ``k`` re-sends every block of turns ``0..k-1``, so a 20,000-session
trace makes ~50 M block uses out of ~5 M stream positions. Blocks that always appear side by side, in the
same order and in the same requests, behave identically in an LRU stack except for their order inside the
run; a *chunk* is a maximal such run. Chunk boundaries are placed wherever any request's used or queried
range starts or ends, so every such range is a whole number of chunks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from agenttrace_pipeline.cachesim.blocks import BlockStreams


@dataclass(frozen=True)
class Chunks:
    """``width[b]`` = blocks in the chunk that block ``b`` starts (0 for blocks inside a chunk)."""

    width: np.ndarray  # int64 per dense block
    n_chunks: int


def find_chunks(s: BlockStreams, n_use: np.ndarray) -> Chunks:
    """Chunks of ``s`` when request ``r`` uses stream positions ``base[r] .. base[r] + n_use[r] - 1``."""
    brk = np.zeros(s.blocks.size + 1, np.bool_)
    brk[s.base] = True
    brk[s.base + n_use] = True
    brk[s.base + s.n_query] = True
    brk[-1] = True
    width = np.zeros(s.n_blocks, np.int64)
    n = _chunk_widths(s.blocks, brk, width)
    return Chunks(width, n)


@njit(cache=True, nogil=True)
def _unique_neighbour(blocks, brk, n_blocks, step):
    """Per block: the one block that follows it (``step`` 1) or precedes it (``step`` -1) at every
    occurrence with no boundary between them; -1 when there is none or it varies."""
    out = np.full(n_blocks, -2, np.int64)
    for p in range(blocks.size):
        q = p + step
        joined = 0 <= q < blocks.size and not brk[max(p, q)]
        nb = blocks[q] if joined else -1
        b = blocks[p]
        if out[b] == -2:
            out[b] = nb
        elif out[b] != nb:
            out[b] = -1
    return out


@njit(cache=True, nogil=True)
def _chunk_widths(blocks, brk, width):
    n_blocks = width.size
    fwd = _unique_neighbour(blocks, brk, n_blocks, 1)
    bwd = _unique_neighbour(blocks, brk, n_blocks, -1)
    seen = np.zeros(n_blocks, np.bool_)
    count = 0
    p = 0
    while p < blocks.size:
        head = blocks[p]
        q = p + 1
        while q < blocks.size and not brk[q] and fwd[blocks[q - 1]] == blocks[q] and bwd[blocks[q]] == blocks[q - 1]:
            q += 1
        if not seen[head]:
            seen[head] = True
            width[head] = q - p
            count += 1
        p = q
    return count
