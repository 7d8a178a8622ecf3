"""The cache kernel a chunk at a time: the same LRU, FIFO, S3-FIFO and infinite caches as :mod:`.kernel`,
for *simple* semantics on one replica with no host tier, with runs of blocks as list entries.

A cumulative multi-turn trace re-sends every earlier block on each turn (~50 M block uses for 20,000
sessions), but its blocks come in *chunks* (:mod:`.chunks`) always used together and in order. The block
kernel moves one list node per block use; here a list entry is a *segment*: a run ``[lo, hi)`` of one
chunk's blocks that sit next to each other, in order, in a policy queue. Using a chunk costs one step
(plus a scan of its presence bytes when only part of it is cached), evicting ``m`` blocks from a segment's
front is one step plus a tight loop over ``m`` bytes, and the results are the block kernel's exactly:

* LRU: after a use a chunk's blocks are the queue's tail in order, so a chunk is at most one segment
  (evictions only shorten it from the front).
* FIFO: a use appends each missing run of the chunk as a new segment; hits change nothing.
* S3-FIFO: missing runs are split by ghost membership into small- and main-queue segments. All blocks of a
  segment share one frequency, kept lazily as ``min(3, f0 + hits of the chunk since h0)`` so that a hit
  is one counter increment; the victim loop moves or evicts as many blocks of the head segment at once as
  the block-at-a-time loop would before its queue-size condition changes.

Per-block state that the residency statistics need (insert time) and S3-FIFO's ghost sequence numbers
are kept per *slot*: a chunk's blocks get consecutive slots, so those loops walk memory in order.

The per-request functions are inlined into the event loop (``inline="always"``): called as functions, each
call took and dropped a reference to each of its ~15 arrays (atomic updates), half the kernel's time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from agenttrace_pipeline.cachesim.blocks import BlockStreams
from agenttrace_pipeline.cachesim.chunks import find_chunks
from agenttrace_pipeline.cachesim.kernel import H_REUSE, LRU, P_GHOST, P_POLICY, P_TRACK, R_DEV, R_GSEQ, S3FIFO, _bin
from agenttrace_pipeline.cachesim.touch import NO_GHOST

CHUNK_POLICIES = ("lru", "fifo", "s3fifo", "infinite")
# ch[c, F] int64 per chunk: width, first slot, tokens per layer (fixed); blocks cached, hits, LRU segment (per run)
C_W, C_S0, C_L0, C_NP, C_HITS, C_SEG = 0, 1, 2, 6, 7, 8
N_CH = 9
# sl[slot, F] int64 per block slot: tokens, layer
SL_TOK, SL_LAY = range(2)
# seg[i, F] int64 per segment
S_C, S_LO, S_HI, S_PRV, S_NXT, S_F0, S_H0 = range(7)
N_S = 7
Q_SMALL, Q_MAIN = 0, 1  # LRU and FIFO use queue 0 only
# pool[...] int64: free segments on the stack pool[P_FREE : P_FREE + pool[P_NFREE]]; queue k's head, tail and
# block count at pool[P_Q + 3 * k + QH | QT | QN]
P_NFREE, P_Q, P_FREE = 0, 1, 8
QH, QT, QN = range(3)


@dataclass(frozen=True)
class ChunkLayout:
    """Chunks of a simple-semantics stream: ``cpos[p]`` is the chunk starting at stream position ``p`` (-1 inside
    one); ``ch`` holds each chunk's width, first slot and tokens per layer (:data:`C_W` ...); a chunk's
    blocks get consecutive slots, ``sl`` holds each slot's tokens and layer."""

    cpos: np.ndarray
    ch: np.ndarray
    sl: np.ndarray
    max_prompt: int


def chunk_layout(s: BlockStreams) -> ChunkLayout:
    """Number the chunks of ``s`` (simple semantics) in first-use order and give their blocks slots."""
    chunks = find_chunks(s, s.n_prompt)
    cpos = np.full(s.blocks.size, -1, np.int32)
    ch = np.zeros((chunks.n_chunks, N_CH), np.int64)
    ch[:, C_SEG] = -1
    sl = np.zeros((s.n_blocks, 2), np.int64)
    _number(s.blocks, s.base, s.n_prompt, chunks.width, s.tokens, s.layer, np.full(s.n_blocks, -1, np.int64),
            cpos, ch, sl)
    return ChunkLayout(cpos, ch, sl, int(s.n_prompt.max(initial=0)))


@njit(cache=True, nogil=True)
def _number(blocks, base, n_prompt, bwidth, tokens, layer, chunk_of, cpos, ch, sl):
    n = 0
    slot = 0
    for r in range(base.size):
        p = base[r]
        while p < base[r] + n_prompt[r]:
            w = bwidth[blocks[p]]
            c = chunk_of[blocks[p]]
            if c < 0:
                c = chunk_of[blocks[p]] = n
                n += 1
                ch[c, C_W], ch[c, C_S0] = w, slot
                for i in range(w):
                    b = blocks[p + i]
                    sl[slot + i, SL_TOK], sl[slot + i, SL_LAY] = tokens[b], layer[b]
                    ch[c, C_L0 + layer[b]] += tokens[b]
                slot += w
            cpos[p] = c
            p += w


def chunk_state(lay: ChunkLayout | None, cap: float, s3: bool) -> tuple[np.ndarray, ...]:
    """The chunked kernel's arrays for one run: ``(cpos, ch, tlast, sl, pres, tins, gseq, seg, pool)``, with the
    layout's fixed parts and an empty cache (1-element stand-ins when ``lay`` is None)."""
    if lay is None:
        lay = ChunkLayout(np.zeros(1, np.int32), np.zeros((1, N_CH), np.int64), np.zeros((1, 2), np.int64), 0)
    n_slots = lay.sl.shape[0]
    n_seg = 1 + (n_slots if not np.isfinite(cap) else min(n_slots, int(cap) + lay.max_prompt))
    pool = np.zeros(P_FREE + n_seg, np.int64)
    pool[P_NFREE] = n_seg
    pool[P_Q:P_Q + 6] = [-1, -1, 0, -1, -1, 0]
    pool[P_FREE:] = np.arange(n_seg)
    return (lay.cpos, lay.ch.copy(), np.zeros(lay.ch.shape[0]), lay.sl, np.zeros(n_slots, np.uint8),
            np.zeros(n_slots), np.full(n_slots if s3 else 1, NO_GHOST, np.int64), np.zeros((n_seg, N_S), np.int64),
            pool)


@njit(cache=True, nogil=True)
def push(seg, pool, k, i):
    """Append segment ``i`` to queue ``k``."""
    q = P_Q + 3 * k
    t = pool[q + QT]
    seg[i, S_PRV], seg[i, S_NXT] = t, -1
    if t >= 0:
        seg[t, S_NXT] = i
    else:
        pool[q + QH] = i
    pool[q + QT] = i
    pool[q + QN] += seg[i, S_HI] - seg[i, S_LO]


@njit(cache=True, nogil=True)
def unlink(seg, pool, k, i):
    q = P_Q + 3 * k
    p, n = seg[i, S_PRV], seg[i, S_NXT]
    if p >= 0:
        seg[p, S_NXT] = n
    else:
        pool[q + QH] = n
    if n >= 0:
        seg[n, S_PRV] = p
    else:
        pool[q + QT] = p
    pool[q + QN] -= seg[i, S_HI] - seg[i, S_LO]


@njit(cache=True, nogil=True)
def new_segment(seg, pool, k, c, lo, hi, f0, h0):
    """A new segment of chunk ``c``'s blocks ``[lo, hi)`` (frequency ``f0`` as of ``h0`` hits) at queue ``k``'s tail."""
    pool[P_NFREE] -= 1
    i = pool[P_FREE + pool[P_NFREE]]
    seg[i, S_C], seg[i, S_LO], seg[i, S_HI], seg[i, S_F0], seg[i, S_H0] = c, lo, hi, f0, h0
    push(seg, pool, k, i)
    return i


@njit(cache=True, nogil=True, inline="always")
def _insert(ch, pres, tins, gseq, seg, pool, rs, cp, c, lo, hi, now):
    """Insert chunk ``c``'s absent blocks ``[lo, hi)`` (FIFO, infinite, S3-FIFO: split by ghost membership)."""
    s0 = ch[c, C_S0]
    s3 = int(cp[P_POLICY]) == S3FIFO
    horizon = rs[0, R_GSEQ] - cp[P_GHOST]
    a = lo
    while a < hi:
        ghost = s3 and gseq[s0 + a] > horizon
        b = a
        while b < hi and (not s3 or (gseq[s0 + b] > horizon) == ghost):
            pres[s0 + b] = 1
            tins[s0 + b] = now
            if s3:
                gseq[s0 + b] = NO_GHOST
            b += 1
        new_segment(seg, pool, Q_MAIN if ghost else Q_SMALL, c, a, b, 0, ch[c, C_HITS])
        a = b
    rs[0, R_DEV] += hi - lo


@njit(cache=True, nogil=True, inline="always")
def _lru_use(ch, pres, tins, seg, pool, rs, c, now):
    """LRU: the chunk's one segment (if any) grows back to its first block and moves to the tail."""
    i = ch[c, C_SEG]
    if i < 0:
        lo = ch[c, C_W]
        pool[P_NFREE] -= 1
        i = ch[c, C_SEG] = pool[P_FREE + pool[P_NFREE]]
        seg[i, S_C], seg[i, S_HI] = c, lo
    else:
        lo = seg[i, S_LO]
        unlink(seg, pool, 0, i)
    s0 = ch[c, C_S0]
    for j in range(s0, s0 + lo):
        pres[j] = 1
        tins[j] = now
    rs[0, R_DEV] += lo
    seg[i, S_LO] = 0
    push(seg, pool, 0, i)


@njit(cache=True, nogil=True, inline="always")
def _leading(ch, sl, pres, lay, c):
    """Tokens and blocks of chunk ``c``'s leading cached blocks (the chunk is partly cached)."""
    s0 = ch[c, C_S0]
    j = s0
    dev = 0
    while j < s0 + ch[c, C_W] and pres[j] == 1:
        dev += sl[j, SL_TOK]
        lay[1, sl[j, SL_LAY]] += sl[j, SL_TOK]
        j += 1
    return dev, j - s0


@njit(cache=True, nogil=True, inline="always")
def use_chunks(cs, rs, cp, hist, lay, base, npr, now, res):
    """Use the prompt at stream positions ``base .. base + npr - 1`` chunk by chunk, as :func:`.touch.touch`
    does block by block (``count`` set, no pins): per-layer totals into ``lay``, the leading run into ``res``."""
    cpos, ch, tlast, sl, pres, tins, gseq, seg, pool = cs
    pol = int(cp[P_POLICY])
    track = cp[P_TRACK] > 0
    in_run = True
    dev = n_run = 0
    p = base
    while p < base + npr:
        c = cpos[p]
        w, have = ch[c, C_W], ch[c, C_NP]
        for i in range(4):
            lay[0, i] += ch[c, C_L0 + i]
        if in_run and have == w:
            n_run += w
            for i in range(4):
                lay[1, i] += ch[c, C_L0 + i]
                dev += ch[c, C_L0 + i]
        elif in_run:
            d, n = _leading(ch, sl, pres, lay, c)
            dev += d
            n_run += n
            in_run = False
        if have > 0:
            ch[c, C_HITS] += 1
            if track:
                hist[H_REUSE, _bin(now - tlast[c])] += have
        if pol == LRU:
            _lru_use(ch, pres, tins, seg, pool, rs, c, now)
        elif have < w:
            s0 = ch[c, C_S0]
            i = 0
            while i < w:  # each absent run of the chunk
                if pres[s0 + i] == 1:
                    i += 1
                    continue
                j = i
                while j < w and pres[s0 + j] == 0:
                    j += 1
                _insert(ch, pres, tins, gseq, seg, pool, rs, cp, c, i, j, now)
                i = j
        ch[c, C_NP] = w
        tlast[c] = now
        p += w
    res[0] += dev
    res[2] += n_run
