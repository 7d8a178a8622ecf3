"""The whole LRU hit-rate curve in one pass, from stack distances (Mattson et al., 1970).

LRU has the inclusion property: a cache of ``C`` blocks always holds the ``C`` most recently used blocks.
So a block is cached for a request iff fewer than ``C`` distinct blocks were used after its last use and
before the request starts (its *depth*), and a prompt position is in the cached leading run iff the largest
depth up to it is below ``C``. One pass records, per prompt position, that prefix-maximum depth weighted by
its tokens; the hit tokens at every capacity are then a cumulative sum. Depths come from a Fenwick tree
over use times with one mark per block at its last use; the time axis is compacted when it fills up.

Requests run in file order and alone, as in the ``file`` load mode, with the same semantics as the kernel:
*simple* uses the prompt's blocks in order; *vllm* caches the reply's full blocks too and releases all in
reverse order, so the ends of a prompt are the first to go.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from agenttrace_pipeline.cachesim.blocks import BlockStreams

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
    hist = np.zeros(s.n_blocks + 2, np.int64)
    longest = int(max(s.n_total.max(initial=0), s.n_prompt.max(initial=0)))
    _pass(order, s.blocks, s.tokens, s.base, s.n_prompt, s.n_query, s.n_total, s.semantics == "vllm",
          s.n_blocks, max(4 * s.n_blocks, 2 * longest + s.n_blocks, 1 << 16), hist)
    cum = np.zeros(s.n_blocks + 2, np.int64)
    np.cumsum(hist[:-1], out=cum[1:])
    return LruCurve(cum[: s.n_blocks + 1], int(s.prompt_tokens[order].sum()), int(cum[-1]))


@njit(cache=True)
def _add(tree, i, v):
    i += 1
    while i < tree.size:
        tree[i] += v
        i += i & -i


@njit(cache=True)
def _prefix(tree, i):
    """Sum of marks at positions 0..i."""
    s = 0
    i += 1
    while i > 0:
        s += tree[i]
        i -= i & -i
    return s


@njit(cache=True)
def _compact(last, tree):
    """Renumber the live marks 0..k-1 in use order and rebuild the tree; returns k."""
    live = np.flatnonzero(last >= 0)
    ordr = live[np.argsort(last[live])]
    tree[:] = 0
    for i in range(ordr.size):
        last[ordr[i]] = i
        _add(tree, i, 1)
    return ordr.size


@njit(cache=True)
def _use(b, last, tree, clock, n_live):
    if last[b] >= 0:
        _add(tree, last[b], -1)
    else:
        n_live[0] += 1
    last[b] = clock[0]
    _add(tree, clock[0], 1)
    clock[0] += 1


@njit(cache=True)
def _pass(order, blocks, tokens, base, n_prompt, n_query, n_total, vllm, n_blocks, size, hist):
    last = np.full(n_blocks, NEVER)
    tree = np.zeros(size + 1, np.int64)
    clock = np.zeros(1, np.int64)
    n_live = np.zeros(1, np.int64)
    inf = hist.size - 1
    for r in order:
        b0, nq = base[r], n_query[r]
        n_use = n_total[r] if vllm else n_prompt[r]
        if clock[0] + n_use >= size:
            clock[0] = _compact(last, tree)
        run_max = 0
        for j in range(nq):  # depths at request start, before any of its own uses
            b = blocks[b0 + j]
            d = inf if last[b] < 0 else n_live[0] - _prefix(tree, last[b])
            run_max = max(run_max, d)
            hist[min(run_max, inf)] += tokens[b]
            if run_max >= inf:
                break
        if vllm:
            for j in range(n_use - 1, -1, -1):
                _use(blocks[b0 + j], last, tree, clock, n_live)
        else:
            for j in range(n_use):
                _use(blocks[b0 + j], last, tree, clock, n_live)
