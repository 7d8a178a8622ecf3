"""Using a run of blocks: the hot loop of the cache kernel.

A hit records its reuse gap and updates the policy's order; a host-tier block is promoted; an absent
block is inserted; each block may be pinned; and while ``count`` is set, the prompt's tokens and hits
(the leading run of cached blocks, by tier) are added to the per-layer totals ``lay``. Totals are kept in
local variables and policy updates in small inlined helpers: writing through arrays on every block made
this loop ten times slower.
"""

from __future__ import annotations

from numba import njit

from agenttrace_pipeline.cachesim.kernel import (
    FMAX,
    FREQ,
    H_REUSE,
    INFINITE,
    L_LFU,
    L_M,
    L_MAIN,
    LFU,
    LINKED,
    LRU,
    LST,
    P_GHOST,
    P_POLICY,
    P_TRACK,
    PIN,
    R_DEV,
    R_GSEQ,
    R_HOST,
    R_MINF,
    S3FIFO,
    SESSION_LRU,
    STAMP,
    T_INS,
    T_LAST,
    TIER,
    TTL,
    _bin,
    link_tail,
    unlink,
)

NO_GHOST = -(1 << 62)


@njit(cache=True, nogil=True, inline="always")
def _on_hit(bi, ls, k, g, pol, recency):
    if pol == LFU:
        bi[g, FREQ] += 1
        if bi[g, LINKED] == 1:
            unlink(bi, ls, k, g)
            link_tail(bi, ls, k, L_LFU + min(bi[g, FREQ], FMAX), g)
    elif pol == S3FIFO:
        bi[g, FREQ] = min(bi[g, FREQ] + 1, 3)
    elif recency and bi[g, LINKED] == 1:
        unlink(bi, ls, k, g)
        link_tail(bi, ls, k, L_MAIN, g)


@njit(cache=True, nogil=True, inline="always")
def _on_insert(bi, bt, gs, ls, rs, k, g, pol, ghost_len, now, track):
    if bi[g, TIER] == 2:
        rs[k, R_HOST] -= 1
    if bi[g, LINKED] == 1:
        unlink(bi, ls, k, g)  # leaving the host tier's list
    bi[g, TIER] = 1
    rs[k, R_DEV] += 1
    if track:
        bt[g, T_INS] = now
    if pol == LFU:
        bi[g, FREQ] = 1
        rs[k, R_MINF] = 1
        link_tail(bi, ls, k, L_LFU + 1, g)
    elif pol == S3FIFO:
        bi[g, FREQ] = 0
        ghost = gs[g] > rs[k, R_GSEQ] - ghost_len
        gs[g] = NO_GHOST
        link_tail(bi, ls, k, L_M if ghost else L_MAIN, g)
    elif pol != INFINITE:
        link_tail(bi, ls, k, L_MAIN, g)


@njit(cache=True, nogil=True)
def touch(bi, bt, gs, ls, rs, cp, hist, lay, layer, tokens, k, off, blocks, base, lo, hi, nq, res, count, pin,
          now, req):
    """Use blocks ``blocks[base+lo : base+hi]`` of replica ``k`` (rows ``off + block``) in order.

    ``res`` receives the leading run among the first ``nq`` blocks that was cached before (device tokens,
    host tokens, blocks), added to what it holds. The run is judged on each block's tier before this
    request: a prompt's blocks are distinct, and nothing is evicted while they are used."""
    pol = int(cp[P_POLICY])
    recency = pol == LRU or pol == TTL or pol == SESSION_LRU
    ghost_len = cp[P_GHOST]
    track = cp[P_TRACK] > 0 or pol == TTL  # last-use times: residency statistics, TTL expiry
    stamp = pol == SESSION_LRU
    in_run = True
    dev = host = n_run = 0
    q0 = q1 = q2 = q3 = h0 = h1 = h2 = h3 = 0
    for j in range(lo, hi):
        b = blocks[base + j]
        g = off + b
        tier = bi[g, TIER]
        t = tokens[b]
        lyr = layer[b]
        if count:
            if lyr == 0:
                q0 += t
            elif lyr == 1:
                q1 += t
            elif lyr == 2:
                q2 += t
            else:
                q3 += t
        in_run = in_run and j < nq and tier != 0
        if in_run:
            n_run += 1
            if tier == 2:
                host += t
                if count:
                    lay[2, lyr] += t
            else:
                dev += t
                if lyr == 0:
                    h0 += t
                elif lyr == 1:
                    h1 += t
                elif lyr == 2:
                    h2 += t
                else:
                    h3 += t
        if tier == 1:
            if track:
                hist[H_REUSE, _bin(now - bt[g, T_LAST])] += 1
            _on_hit(bi, ls, k, g, pol, recency)
        else:
            _on_insert(bi, bt, gs, ls, rs, k, g, pol, ghost_len, now, track)
        if track:
            bt[g, T_LAST] = now
        if stamp:
            bi[g, STAMP] = req
        if pin:
            bi[g, PIN] += pin
    res[0] += dev
    res[1] += host
    res[2] += n_run
    if count:
        for lyr, q, h in ((0, q0, h0), (1, q1, h1), (2, q2, h2), (3, q3, h3)):
            lay[0, lyr] += q
            lay[1, lyr] += h


@njit(cache=True, nogil=True)
def release_all(bi, ls, cp, k, off, blocks, base, n):
    """Drop one pin of each of the first ``n`` blocks, last block first (vLLM frees in reverse order).

    A block whose pins reach zero rejoins its list if eviction parked it; with LRU-like policies it becomes
    the most recent, so the end of a prompt is evicted before its beginning."""
    pol = int(cp[P_POLICY])
    recency = pol == LRU or pol == TTL or pol == SESSION_LRU
    for j in range(n - 1, -1, -1):
        g = off + blocks[base + j]
        bi[g, PIN] -= 1
        if bi[g, PIN] > 0 or bi[g, TIER] != 1 or pol == INFINITE:
            continue
        if bi[g, LINKED] == 0:
            lst = L_LFU + min(bi[g, FREQ], FMAX) if pol == LFU else bi[g, LST]
            link_tail(bi, ls, k, lst, g)
        elif recency:
            unlink(bi, ls, k, g)
            link_tail(bi, ls, k, L_MAIN, g)
