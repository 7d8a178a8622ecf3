"""Using a run of blocks: the hot loop of the cache kernel, one loop per policy family.

``touch`` picks the loop once per call, so each loop's body has no policy branches (that alone makes
the kernel several times faster than testing the policy per block). Every loop does the same
bookkeeping: a hit records its reuse gap and updates the policy's order; a host-tier block is promoted;
an absent block is inserted; each block may be pinned; and while ``count`` is set, the prompt's tokens
and hits (the leading run of cached blocks, by tier) are added to the per-layer totals ``lay``.
"""

from __future__ import annotations

from numba import njit

from agenttrace_pipeline.cachesim.kernel import (
    FIFO,
    FMAX,
    FREQ,
    H_REUSE,
    INFINITE,
    L_LFU,
    L_M,
    L_MAIN,
    LFU,
    LINKED,
    LST,
    P_GHOST,
    P_POLICY,
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
    LRU,
    _bin,
    link_tail,
    unlink,
)

NO_GHOST = -(1 << 62)


@njit(cache=True, inline="always")
def _enter(bi, bt, rs, hist, lay, layer, tokens, k, g, b, in_run, count, now):
    """Common part of using block ``g`` (dense ``b``); returns (was on the device, tier if it extends the run).

    The run is judged on the tier the block had before this request: its blocks are distinct, and nothing
    is evicted while they are used."""
    tier = bi[g, TIER]
    run_tier = tier if in_run else 0
    if count:
        lay[0, layer[b]] += tokens[b]
        if run_tier != 0:
            lay[run_tier, layer[b]] += tokens[b]
    if tier == 1:
        hist[H_REUSE, _bin(now - bt[g, T_LAST])] += 1
        return True, run_tier
    if tier == 2:
        rs[k, R_HOST] -= 1
    bi[g, TIER] = 1
    rs[k, R_DEV] += 1
    bt[g, T_INS] = now
    return False, run_tier


@njit(cache=True, inline="always")
def _extend(res, run_tier, tok):
    """Add a block to the leading run totals ``res`` = [device tokens, host tokens, blocks]; False ends it."""
    if run_tier == 0:
        return False
    res[run_tier - 1] += tok
    res[2] += 1
    return True


@njit(cache=True)
def touch(bi, bt, gs, ls, rs, cp, hist, lay, layer, tokens, k, off, blocks, base, lo, hi, nq, res, count, pin,
          now, req):
    """Use blocks ``blocks[base+lo : base+hi]`` of replica ``k`` (rows ``off + block``) in order.

    ``res`` receives the leading run among the first ``nq`` blocks that was cached before: device tokens,
    host tokens, blocks (each added to what ``res`` holds)."""
    pol = int(cp[P_POLICY])
    if pol == LRU or pol == TTL or pol == SESSION_LRU or pol == FIFO:
        _touch_queue(bi, bt, ls, rs, hist, lay, layer, tokens, k, off, blocks, base, lo, hi, nq, res, count, pin,
                     now, req, pol != FIFO)
    elif pol == LFU:
        _touch_lfu(bi, bt, ls, rs, hist, lay, layer, tokens, k, off, blocks, base, lo, hi, nq, res, count, pin, now, req)
    elif pol == S3FIFO:
        _touch_s3(bi, bt, gs, ls, rs, cp, hist, lay, layer, tokens, k, off, blocks, base, lo, hi, nq, res, count, pin,
                  now, req)
    elif pol == INFINITE:
        _touch_plain(bi, bt, rs, hist, lay, layer, tokens, k, off, blocks, base, lo, hi, nq, res, count, pin, now, req)


@njit(cache=True)
def _touch_queue(bi, bt, ls, rs, hist, lay, layer, tokens, k, off, blocks, base, lo, hi, nq, res, count, pin, now,
                 req, recency):
    in_run = True
    for j in range(lo, hi):
        b = blocks[base + j]
        g = off + b
        dev, rt = _enter(bi, bt, rs, hist, lay, layer, tokens, k, g, b, in_run and j < nq, count, now)
        in_run = _extend(res, rt, tokens[b])
        if dev:
            if recency and bi[g, LINKED] == 1:
                unlink(bi, ls, k, g)
                link_tail(bi, ls, k, L_MAIN, g)
        else:
            if bi[g, LINKED] == 1:
                unlink(bi, ls, k, g)  # leaving the host tier's list
            link_tail(bi, ls, k, L_MAIN, g)
        bt[g, T_LAST] = now
        bi[g, STAMP] = req
        bi[g, PIN] += pin


@njit(cache=True)
def _touch_lfu(bi, bt, ls, rs, hist, lay, layer, tokens, k, off, blocks, base, lo, hi, nq, res, count, pin, now, req):
    in_run = True
    for j in range(lo, hi):
        b = blocks[base + j]
        g = off + b
        dev, rt = _enter(bi, bt, rs, hist, lay, layer, tokens, k, g, b, in_run and j < nq, count, now)
        in_run = _extend(res, rt, tokens[b])
        if dev:
            bi[g, FREQ] += 1
            if bi[g, LINKED] == 1:
                unlink(bi, ls, k, g)
                link_tail(bi, ls, k, L_LFU + min(bi[g, FREQ], FMAX), g)
        else:
            if bi[g, LINKED] == 1:
                unlink(bi, ls, k, g)
            bi[g, FREQ] = 1
            rs[k, R_MINF] = 1
            link_tail(bi, ls, k, L_LFU + 1, g)
        bt[g, T_LAST] = now
        bi[g, STAMP] = req
        bi[g, PIN] += pin


@njit(cache=True)
def _touch_s3(bi, bt, gs, ls, rs, cp, hist, lay, layer, tokens, k, off, blocks, base, lo, hi, nq, res, count, pin,
              now, req):
    ghost_len = cp[P_GHOST]
    in_run = True
    for j in range(lo, hi):
        b = blocks[base + j]
        g = off + b
        dev, rt = _enter(bi, bt, rs, hist, lay, layer, tokens, k, g, b, in_run and j < nq, count, now)
        in_run = _extend(res, rt, tokens[b])
        if dev:
            bi[g, FREQ] = min(bi[g, FREQ] + 1, 3)
        else:
            if bi[g, LINKED] == 1:
                unlink(bi, ls, k, g)
            bi[g, FREQ] = 0
            ghost = gs[g] > rs[k, R_GSEQ] - ghost_len
            gs[g] = NO_GHOST
            link_tail(bi, ls, k, L_M if ghost else L_MAIN, g)
        bt[g, T_LAST] = now
        bi[g, STAMP] = req
        bi[g, PIN] += pin


@njit(cache=True)
def _touch_plain(bi, bt, rs, hist, lay, layer, tokens, k, off, blocks, base, lo, hi, nq, res, count, pin, now, req):
    in_run = True
    for j in range(lo, hi):
        b = blocks[base + j]
        g = off + b
        dev, rt = _enter(bi, bt, rs, hist, lay, layer, tokens, k, g, b, in_run and j < nq, count, now)
        in_run = _extend(res, rt, tokens[b])
        bt[g, T_LAST] = now
        bi[g, STAMP] = req
        bi[g, PIN] += pin


@njit(cache=True)
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
