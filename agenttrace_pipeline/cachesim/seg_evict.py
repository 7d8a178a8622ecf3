"""Eviction for the chunked kernel (:mod:`.segments`): blocks leave from the front of the head segment.

LRU and FIFO evict ``m`` blocks of the head segment in one step. S3-FIFO runs its victim loop a segment at a
time: a head segment of the small queue is promoted (frequency > 1) or evicted, one of the main queue is
reinserted with its frequency lowered or evicted, and each step takes as many blocks as the block kernel's
loop (:func:`.kernel.evict`) takes before the small queue's size or the main queue's emptiness changes the
branch. Evictions from the small queue leave ghosts, one sequence number per block.
"""

from __future__ import annotations

from numba import njit

from agenttrace_pipeline.cachesim.kernel import (
    H_IDLE,
    H_LIFE,
    INFINITE,
    P_CAP,
    P_POLICY,
    P_SMALL,
    P_TRACK,
    R_DEV,
    R_GSEQ,
    R_OVER,
    S3FIFO,
    _bin,
)
from agenttrace_pipeline.cachesim.segments import (
    C_HITS,
    C_NP,
    C_S0,
    C_SEG,
    P_FREE,
    P_NFREE,
    P_Q,
    Q_MAIN,
    Q_SMALL,
    QH,
    QN,
    S_C,
    S_F0,
    S_H0,
    S_HI,
    S_LO,
    new_segment,
    push,
    unlink,
)


@njit(cache=True, nogil=True, inline="always")
def _drop_front(ch, tlast, pres, tins, gseq, seg, pool, rs, cp, hist, k, i, m, now):
    """Evict the first ``m`` blocks of segment ``i``, the head of queue ``k``."""
    c, lo = seg[i, S_C], seg[i, S_LO]
    s0 = ch[c, C_S0]
    ghost = int(cp[P_POLICY]) == S3FIFO and k == Q_SMALL
    track = cp[P_TRACK] > 0
    t_prev, b_prev = -1.0, 0  # blocks inserted together share a bin: one _bin per insert time
    for j in range(s0 + lo, s0 + lo + m):
        pres[j] = 0
        if track:
            if tins[j] != t_prev:
                t_prev, b_prev = tins[j], _bin(now - tins[j])
            hist[H_LIFE, b_prev] += 1
        if ghost:
            gseq[j] = rs[0, R_GSEQ]
            rs[0, R_GSEQ] += 1
    if track:
        hist[H_IDLE, _bin(now - tlast[c])] += m
    ch[c, C_NP] -= m
    rs[0, R_DEV] -= m
    pool[P_Q + 3 * k + QN] -= m
    seg[i, S_LO] = lo + m
    if lo + m == seg[i, S_HI]:
        unlink(seg, pool, k, i)
        pool[P_FREE + pool[P_NFREE]] = i
        pool[P_NFREE] += 1
        ch[c, C_SEG] = -1


@njit(cache=True, nogil=True, inline="always")
def _s3_step(cs, rs, cp, hist, need, now):
    """One stretch of S3-FIFO's victim loop; False when nothing can be evicted."""
    _, ch, tlast, _, pres, tins, gseq, seg, pool = cs
    small, main = pool[P_Q + 3 * Q_SMALL + QH], pool[P_Q + 3 * Q_MAIN + QH]
    n_small = pool[P_Q + 3 * Q_SMALL + QN]
    if small >= 0 and (n_small >= cp[P_SMALL] or main < 0):
        length = seg[small, S_HI] - seg[small, S_LO]
        # blocks taken before the small queue falls below its target size (main is non-empty by then)
        room = int(n_small - cp[P_SMALL]) + 1 if n_small >= cp[P_SMALL] else 1
        if min(3, seg[small, S_F0] + ch[seg[small, S_C], C_HITS] - seg[small, S_H0]) > 1:
            m = min(length, room)
            if m == length:
                unlink(seg, pool, Q_SMALL, small)
                push(seg, pool, Q_MAIN, small)
            else:
                lo = seg[small, S_LO]
                new_segment(seg, pool, Q_MAIN, seg[small, S_C], lo, lo + m, seg[small, S_F0], seg[small, S_H0])
                seg[small, S_LO] = lo + m
                pool[P_Q + 3 * Q_SMALL + QN] -= m
        else:
            m = min(length, need) if main < 0 else min(length, need, room)
            _drop_front(ch, tlast, pres, tins, gseq, seg, pool, rs, cp, hist, Q_SMALL, small, m, now)
        return True
    if main < 0:
        return False
    c = seg[main, S_C]
    f = min(3, seg[main, S_F0] + ch[c, C_HITS] - seg[main, S_H0])
    if f > 0:
        unlink(seg, pool, Q_MAIN, main)
        seg[main, S_F0], seg[main, S_H0] = f - 1, ch[c, C_HITS]
        push(seg, pool, Q_MAIN, main)
    else:
        m = min(seg[main, S_HI] - seg[main, S_LO], need)
        _drop_front(ch, tlast, pres, tins, gseq, seg, pool, rs, cp, hist, Q_MAIN, main, m, now)
    return True


@njit(cache=True, nogil=True, inline="always")
def evict_chunks(cs, rs, cp, hist, now):
    """Evict until the cache holds at most its capacity, as :func:`.kernel.evict` does for these policies."""
    pol = int(cp[P_POLICY])
    if pol == INFINITE:
        return
    _, ch, tlast, _, pres, tins, gseq, seg, pool = cs
    while rs[0, R_DEV] > cp[P_CAP]:
        need = int(rs[0, R_DEV] - cp[P_CAP])
        if pol == S3FIFO:
            if not _s3_step(cs, rs, cp, hist, need, now):
                rs[0, R_OVER] += 1
                return
            continue
        i = pool[P_Q + QH]
        if i < 0:
            rs[0, R_OVER] += 1
            return
        m = min(seg[i, S_HI] - seg[i, S_LO], need)
        _drop_front(ch, tlast, pres, tins, gseq, seg, pool, rs, cp, hist, 0, i, m, now)
