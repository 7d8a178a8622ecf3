"""The whole LRU hit-rate curve in one pass, from stack distances (Mattson et al., 1970).

LRU has the inclusion property: a cache of ``C`` blocks always holds the ``C`` most recently used blocks.
So a block is cached for a request iff fewer than ``C`` distinct blocks were used after its last use and
before the request starts (its *depth*), and a prompt position is in the cached leading run iff the largest
depth up to it is below ``C``. One pass records, per prompt position, that prefix-maximum depth weighted by
its tokens; the hit tokens at every capacity are then a cumulative sum. Depths come from a Fenwick tree
over use times with one mark per block at its last use; the time axis is compacted when it fills up.
Blocks are handled a chunk at a time (:mod:`.chunks`): a chunk's blocks sit at consecutive depths, so a
cumulative multi-turn trace costs one step per chunk, not one per block.

Requests run in file order and alone, as in the ``file`` load mode, with the same semantics as the kernel:
*simple* uses the prompt's blocks in order; *vllm* caches the reply's full blocks too and releases all in
reverse order, so the ends of a prompt are the first to go. The capacity is all for cached blocks: the blocks
a running request holds without cached content are not counted (``simulate(..., running_blocks=False)``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from agenttrace_pipeline.cachesim.blocks import BlockStreams
from agenttrace_pipeline.cachesim.chunks import find_chunks

NEVER = np.int64(-1)


@dataclass(frozen=True)
class LruCurve:
    """Hit tokens for every capacity: ``hit_tokens(C) = cum[min(C, len(cum) - 1)]``."""

    cum: np.ndarray  # int64, cum[C] = hit tokens of an LRU cache of C blocks (cum[0] = 0)
    total_tokens: int
    infinite_hit_tokens: int

    def hit_tokens(self, capacity: int | None) -> int:
        if capacity is None:
            return self.infinite_hit_tokens
        return int(self.cum[min(max(int(capacity), 0), self.cum.size - 1)])

    def hit_rate(self, capacity: int | None) -> float:
        return self.hit_tokens(capacity) / self.total_tokens if self.total_tokens else 0.0


def lru_curve(s: BlockStreams, order: np.ndarray | None = None) -> LruCurve:
    """LRU hit tokens at every capacity for requests in ``order`` (default: file order)."""
    order = np.arange(s.base.size, dtype=np.int64) if order is None else np.asarray(order, np.int64)
    vllm = s.semantics == "vllm"
    n_use = s.n_total if vllm else s.n_prompt
    ch = find_chunks(s, n_use)
    cumtok = np.zeros(s.blocks.size + 1, np.int64)
    np.cumsum(s.tokens[s.blocks], out=cumtok[1:])
    point = np.zeros(s.n_blocks + 2, np.int64)
    ramp = np.zeros(s.n_blocks + 3, np.int64)
    longest = int(n_use.max(initial=0))
    _pass(order, s.blocks, cumtok, ch.width, s.base, s.n_query, n_use, vllm, s.block_tokens,
          max(4 * ch.n_chunks, 2 * longest + ch.n_chunks, 1 << 16), point, ramp)
    hist = point + np.cumsum(ramp)[: point.size]
    cum = np.zeros(s.n_blocks + 2, np.int64)
    np.cumsum(hist[:-1], out=cum[1:])
    return LruCurve(cum[: s.n_blocks + 1], int(s.prompt_tokens[order].sum()), int(cum[-1]))


@njit(cache=True, nogil=True)
def _add(tree, i, v):
    i += 1
    while i < tree.size:
        tree[i] += v
        i += i & -i


@njit(cache=True, nogil=True)
def _prefix(tree, i):
    """Sum of marks at positions 0..i."""
    s = 0
    i += 1
    while i > 0:
        s += tree[i]
        i -= i & -i
    return s


@njit(cache=True, nogil=True)
def _compact(last, width, tree):
    """Renumber the live marks 0..k-1 in use order and rebuild the tree; returns k."""
    live = np.flatnonzero(last >= 0)
    ordr = live[np.argsort(last[live])]
    tree[:] = 0
    for i in range(ordr.size):
        last[ordr[i]] = i
        _add(tree, i, width[ordr[i]])
    return ordr.size


@njit(cache=True, nogil=True)
def _use(c, w, last, tree, clock, live):
    if last[c] >= 0:
        _add(tree, last[c], -w)
    else:
        live[0] += w
    last[c] = clock[0]
    _add(tree, clock[0], w)
    clock[0] += 1


@njit(cache=True, nogil=True)
def _lookup(b0, nq, blocks, cumtok, width, last, tree, live, vllm, eb, point, ramp):
    """Record the prefix-maximum depth of each queried block (chunk by chunk) before the request."""
    inf = point.size - 1
    run_max = 0
    p = b0
    while p < b0 + nq:
        c = blocks[p]
        w = width[c]
        d = inf if last[c] < 0 else live[0] - _prefix(tree, last[c])
        if d >= inf or run_max >= inf:
            point[inf] += cumtok[b0 + nq] - cumtok[p]
            return
        if vllm:  # block i of the chunk sits at depth d + i (the chunk was released last block first)
            i0 = min(max(run_max - d + 1, 0), w)
            point[run_max] += cumtok[p + i0] - cumtok[p]
            if i0 < w:
                ramp[d + i0] += eb
                ramp[d + w] -= eb
            run_max = max(run_max, d + w - 1)
        else:  # block i sits at depth d + w - 1 - i: the chunk's first block is the deepest
            run_max = max(run_max, d + w - 1)
            point[run_max] += cumtok[p + w] - cumtok[p]
        p += w


@njit(cache=True, nogil=True)
def _pass(order, blocks, cumtok, width, base, n_query, n_use, vllm, eb, size, point, ramp):
    last = np.full(width.size, NEVER)
    tree = np.zeros(size + 1, np.int64)
    clock = np.zeros(1, np.int64)
    live = np.zeros(1, np.int64)
    heads = np.zeros(max(1, n_use.max()), np.int64)
    for r in order:
        b0, nu = base[r], n_use[r]
        if clock[0] + nu >= size:
            clock[0] = _compact(last, width, tree)
        _lookup(b0, n_query[r], blocks, cumtok, width, last, tree, live, vllm, eb, point, ramp)
        n_heads = 0
        p = b0
        while p < b0 + nu:  # the request's chunks, in stream order
            heads[n_heads] = p
            n_heads += 1
            p += width[blocks[p]]
        for i in range(n_heads):  # simple: used in order; vllm: released last chunk first
            c = blocks[heads[n_heads - 1 - i] if vllm else heads[i]]
            _use(c, width[c], last, tree, clock, live)
