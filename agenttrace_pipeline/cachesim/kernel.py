"""The block cache: one numba kernel, every eviction policy behind one ``policy`` code.

State lives in plain arrays so the kernel compiles once (``cache=True``) and replicas share one layout:
block ``b`` of replica ``k`` is row ``k * n_blocks + b``.

* ``bi[g, F]`` int32 fields per block: list links, tier (0 absent, 1 device, 2 host), list id, linked flag,
  frequency, pin count, last request that touched it.
* ``bt[g, F]`` float64: insert time and last-use time (ms), for TTL and residency.
* ``gs[g]`` int64: S3-FIFO ghost sequence number (the ghost queue is a ring of sequence numbers).
* ``ls[k, list, HEAD|TAIL|SIZE]`` doubly linked lists; ``rs[k, ...]`` per-replica counters.

Policies: LRU (evict least recently used), FIFO (evict oldest insert), LFU (fewest uses, LRU among ties),
S3-FIFO (Yang et al., SOSP'23: 10 % probationary FIFO, main FIFO with reinsertion, ghost of main's size,
promotion at frequency > 1), TTL (LRU that also drops blocks idle longer than ``ttl_ms``, like provider
prompt caches), infinite (never evicts) and session-LRU (AIPerf's model: evicting a block evicts every
block last used by the same request, i.e. a session's whole context). Pinned blocks (vLLM semantics:
blocks of running requests) are skipped by eviction: they leave their list and return when released.
An optional host tier keeps device evictions in an LRU of ``host_cap`` blocks.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

POLICIES = ("lru", "fifo", "lfu", "s3fifo", "ttl", "infinite", "session-lru")
LRU, FIFO, LFU, S3FIFO, TTL, INFINITE, SESSION_LRU = range(7)

# bi fields
PRV, NXT, TIER, LST, LINKED, FREQ, PIN, STAMP = range(8)
N_BI = 8
# bt fields
T_INS, T_LAST = range(2)
# lists
L_MAIN, L_M, L_HOST, L_LFU = 0, 1, 2, 3  # LFU bucket f is list L_LFU + min(f, FMAX)
FMAX = 1024
N_LISTS = L_LFU + FMAX + 1
HEAD, TAIL, SIZE = range(3)
# rs per-replica counters
R_DEV, R_HOST, R_MINF, R_GSEQ, R_OVER = range(5)
N_RS = 5
# cp cache parameters
P_POLICY, P_CAP, P_HOST, P_TTL, P_SMALL, P_GHOST, P_NBLK, P_TRACK = range(8)
N_CP = 8
# residency histograms (log2 ms bins): lifetime, reuse gap, idle before evict
H_LIFE, H_REUSE, H_IDLE = range(3)
N_HBINS = 48


def new_state(n_blocks: int, replicas: int, s3: bool) -> tuple[np.ndarray, ...]:
    """Fresh arrays for ``replicas`` empty caches over ``n_blocks`` dense blocks."""
    g = n_blocks * replicas
    bi = np.zeros((g, N_BI), np.int32)
    bi[:, PRV] = bi[:, NXT] = -1
    bt = np.zeros((g, 2), np.float64)
    gs = np.full(g if s3 else 1, -(1 << 62), np.int64)
    ls = np.zeros((replicas, N_LISTS, 3), np.int64)
    ls[:, :, HEAD] = ls[:, :, TAIL] = -1
    rs = np.zeros((replicas, N_RS), np.int64)
    hist = np.zeros((3, N_HBINS), np.int64)
    return bi, bt, gs, ls, rs, hist


@njit(cache=True, nogil=True)
def _bin(ms):
    """Log2 bin of a duration in ms: 0 below 1 ms, then bin i for [2^(i-1), 2^i)."""
    return 0 if ms < 1.0 else min(math.frexp(ms)[1], N_HBINS - 1)


@njit(cache=True, nogil=True)
def link_tail(bi, ls, k, lst, g):
    t = ls[k, lst, TAIL]
    bi[g, PRV] = t
    bi[g, NXT] = -1
    if t >= 0:
        bi[t, NXT] = g
    else:
        ls[k, lst, HEAD] = g
    ls[k, lst, TAIL] = g
    ls[k, lst, SIZE] += 1
    bi[g, LST] = lst
    bi[g, LINKED] = 1


@njit(cache=True, nogil=True)
def unlink(bi, ls, k, g):
    lst, p, n = bi[g, LST], bi[g, PRV], bi[g, NXT]
    if p >= 0:
        bi[p, NXT] = n
    else:
        ls[k, lst, HEAD] = n
    if n >= 0:
        bi[n, PRV] = p
    else:
        ls[k, lst, TAIL] = p
    ls[k, lst, SIZE] -= 1
    bi[g, LINKED] = 0


@njit(cache=True, nogil=True, inline="always")
def _head_unpinned(bi, ls, k, lst):
    """Head of list ``lst`` after parking pinned heads (they rejoin on release); -1 when empty."""
    while True:
        h = ls[k, lst, HEAD]
        if h < 0 or bi[h, PIN] == 0:
            return h
        unlink(bi, ls, k, h)


@njit(cache=True, nogil=True, inline="always")
def _victim(bi, ls, rs, cp, k):
    """Pick the next block to evict (S3-FIFO also moves blocks between its queues); -1 if none."""
    pol = int(cp[P_POLICY])
    if pol == LFU:
        f = max(rs[k, R_MINF], 1)
        while f <= FMAX:
            h = _head_unpinned(bi, ls, k, L_LFU + f)
            if h >= 0:
                rs[k, R_MINF] = f
                return h
            f += 1
        return -1
    if pol != S3FIFO:
        return _head_unpinned(bi, ls, k, L_MAIN)
    while True:
        small = _head_unpinned(bi, ls, k, L_MAIN)
        main = _head_unpinned(bi, ls, k, L_M)
        if small >= 0 and (ls[k, L_MAIN, SIZE] >= cp[P_SMALL] or main < 0):
            if bi[small, FREQ] > 1:
                unlink(bi, ls, k, small)
                link_tail(bi, ls, k, L_M, small)
                continue
            return small
        if main < 0:
            return -1
        if bi[main, FREQ] > 0:
            bi[main, FREQ] -= 1
            unlink(bi, ls, k, main)
            link_tail(bi, ls, k, L_M, main)
            continue
        return main


@njit(cache=True, nogil=True, inline="always")
def _drop(bi, bt, gs, ls, rs, cp, hist, k, g, now, to_host):
    """Remove ``g`` from the device tier (into the host tier when there is one and ``to_host``)."""
    unlink(bi, ls, k, g)
    bi[g, TIER] = 0
    rs[k, R_DEV] -= 1
    if cp[P_TRACK] > 0:
        hist[H_LIFE, _bin(now - bt[g, T_INS])] += 1
        hist[H_IDLE, _bin(now - bt[g, T_LAST])] += 1
    if int(cp[P_POLICY]) == S3FIFO and bi[g, LST] == L_MAIN:
        gs[g] = rs[k, R_GSEQ]
        rs[k, R_GSEQ] += 1
    if to_host and cp[P_HOST] > 0:
        bi[g, TIER] = 2
        link_tail(bi, ls, k, L_HOST, g)
        rs[k, R_HOST] += 1
        while rs[k, R_HOST] > cp[P_HOST]:
            h = ls[k, L_HOST, HEAD]
            unlink(bi, ls, k, h)
            bi[h, TIER] = 0
            rs[k, R_HOST] -= 1


@njit(cache=True, nogil=True)
def evict(bi, bt, gs, ls, rs, cp, hist, k, now):
    """Evict until replica ``k`` holds at most its capacity (pinned blocks may keep it above: counted)."""
    pol = int(cp[P_POLICY])
    if pol == INFINITE:
        return
    if pol == TTL:
        while True:
            h = _head_unpinned(bi, ls, k, L_MAIN)
            if h < 0 or bt[h, T_LAST] + cp[P_TTL] >= now:
                break
            _drop(bi, bt, gs, ls, rs, cp, hist, k, h, now, False)
    while rs[k, R_DEV] > cp[P_CAP]:
        v = _victim(bi, ls, rs, cp, k)
        if v < 0:
            rs[k, R_OVER] += 1
            return
        stamp = bi[v, STAMP]
        _drop(bi, bt, gs, ls, rs, cp, hist, k, v, now, True)
        if pol == SESSION_LRU:
            while True:
                h = _head_unpinned(bi, ls, k, L_MAIN)
                if h < 0 or bi[h, STAMP] != stamp:
                    break
                _drop(bi, bt, gs, ls, rs, cp, hist, k, h, now, True)


@njit(cache=True, nogil=True)
def leading_run(bi, blocks, tokens, base, nq, off):
    """Leading run of a prompt present in replica rows ``off + block``: (device tokens, host tokens, blocks)."""
    dev = 0
    host = 0
    j = 0
    while j < nq:
        b = blocks[base + j]
        t = bi[off + b, TIER]
        if t == 1:
            dev += tokens[b]
        elif t == 2:
            host += tokens[b]
        else:
            break
        j += 1
    return dev, host, j
