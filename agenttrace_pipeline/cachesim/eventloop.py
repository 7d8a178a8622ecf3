"""Requests through replicas on a virtual clock: routing, cache lookups, and the engine cost model.

Four load modes share one request step:

* ``file`` — requests in file order, each served alone (its start and end back to back) at its nominal
  time (turn-0 timestamp plus the delays before it). This is the mode of the FAST'25 figures.
* ``nominal`` — the same, in order of nominal time: sessions interleave as their timestamps and delays
  say, with no service time (for single-turn traces this is file order).
* ``open`` — turn 0 at its timestamp; each later turn ``delay`` ms after the previous turn ends.
* ``closed`` — at most ``concurrency`` sessions at once, started in order as slots free (timestamps are
  not used); a session holds its slot through its turns and delays.

A request's time on its replica: its uncached tokens join the replica's prefill queue; each prefill step
takes up to ``max_batch_tokens`` from the queue in arrival order (so small prompts share a step and a long
one spans several: chunked prefill) and lasts ``prefill_ms(step tokens)`` plus the host-tier transfers of
the requests it starts; a request's first token comes when its last tokens are done
(:mod:`.prefill`). Each generated token then takes one decode step at the replica's decoding batch size and
KV fill at that moment. In the untimed modes a request has the engine to itself. Cache lookups happen
when a request is admitted (not when its prefill starts); with the vLLM semantics its blocks stay pinned
until it ends, when its reply's full blocks are cached and all its blocks are released in reverse order.
Blocks it holds without a name count against the replica's capacity too (``running_blocks``, on by default),
evicting cached ones: its prompt's partly filled last block from admission, and at its end every block up to
prompt + reply − 1 tokens (the last token is sampled, never computed) — as the simulated engine counts them
token by token. Without them the capacity is all for cached content, as :mod:`.stack_distance` assumes.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from agenttrace_pipeline.cachesim.kernel import P_CAP, P_POLICY, R_DEV, TTL, evict, leading_run
from agenttrace_pipeline.cachesim.seg_evict import evict_chunks
from agenttrace_pipeline.cachesim.segments import use_chunks
from agenttrace_pipeline.cachesim.touch import release_all, touch

LOAD_MODES = ("file", "nominal", "open", "closed")
MODE_FILE, MODE_NOMINAL, MODE_OPEN, MODE_CLOSED = range(4)
ROUTINGS = ("random", "round-robin", "session-affinity", "prefix", "prefix-load-cap")
RT_RANDOM, RT_RR, RT_AFFINITY, RT_PREFIX, RT_PREFIX_CAP = range(5)

# req rows (int64)
Q_BASE, Q_NPROMPT, Q_NQUERY, Q_NTOTAL, Q_SESS, Q_NEXT, Q_PTOK, Q_OUT, Q_TAIL, Q_TAILTOK, Q_UNNAMED0, Q_UNNAMED1 = range(12)
N_Q = 12
# reqf rows (float64)
F_TIME, F_DELAY = range(2)
# ep engine parameters
E_PF2, E_PF1, E_PF0, E_DC2, E_DC1, E_DC0, E_DCB, E_FLOOR, E_BPT, E_GBPS, E_BATCH, E_PFCTX, E_DCCTX, E_REQ, E_DCEXP = range(15)
# lp loop parameters
L_MODE, L_REPLICAS, L_ROUTING, L_CONC, L_LOADCAP, L_VLLM, L_NBLK, L_SEED, L_CHUNKED, L_UNNAMED = range(10)
# out rows (float64 per request)
O_REP, O_ARR, O_FIRST, O_DONE, O_HDEV, O_HHOST, O_ITL = range(7)
N_OUT = 7
# rep columns (float64 per replica)
RP_DECODING, RP_ACTIVE, RP_NREQ, RP_BUSY, RP_CTX, RP_UNNAMED = range(6)
N_RP = 6
# ctl (int64)
C_HSIZE, C_SEQ, C_RR, C_NEXT_SESS, C_DONE = range(5)


@njit(cache=True, nogil=True)
def seed_rng(seed):
    """Seed numba's generator (random routing); its state is per thread, so seed where the run happens."""
    np.random.seed(seed)


@njit(cache=True, nogil=True, inline="always")
def prefill_ms(t, ep, attended=0.0):
    return ep[E_PF2] * t * t + ep[E_PF1] * t + ep[E_PF0] + ep[E_PFCTX] * attended / 1e3


@njit(cache=True, nogil=True, inline="always")
def prefill_alone_ms(t, prefix, ep):
    """Prefill of ``t`` uncached tokens after ``prefix`` cached ones with the engine to itself: steps of at most
    ``max_batch_tokens`` (their attended pairs add up to ``t·(prefix + t/2)`` however the prompt is cut)."""
    cap = ep[E_BATCH] if ep[E_BATCH] > 0 else max(t, 1.0)
    full = np.floor(t / cap)
    rest = t - full * cap
    ms = full * prefill_ms(cap, ep) + ep[E_PFCTX] * t * (prefix + t / 2) / 1e3
    return ms + prefill_ms(rest, ep) if rest > 0 or full == 0 else ms


@njit(cache=True, nogil=True, inline="always")
def decode_ms(batch, u, ep, context=0.0):
    return max(ep[E_FLOOR], ep[E_DC2] * u * u + ep[E_DC1] * u + ep[E_DC0] + ep[E_DCB] * (batch - 1)
               + ep[E_DCCTX] * context)


@njit(cache=True, nogil=True, inline="always")
def decode_context(r, req, ep):
    """Request ``r``'s context units while it decodes (``EngineCost.ctx_units`` of its prompt and half its reply,
    the tokens it holds on average)."""
    return ((req[Q_PTOK, r] + req[Q_OUT, r] / 2) / 1e3) ** ep[E_DCEXP]


@njit(cache=True, nogil=True, inline="always")
def transfer_ms(host_tokens, ep):
    return 0.0 if ep[E_GBPS] <= 0 else host_tokens * ep[E_BPT] / (ep[E_GBPS] * 1e9) * 1e3


@njit(cache=True, nogil=True, inline="always")
def _lighter(rep, a, b):
    """Is replica ``a`` less loaded than ``b``: fewer requests in flight, then fewer routed so far."""
    return rep[a, RP_ACTIVE] < rep[b, RP_ACTIVE] or (
        rep[a, RP_ACTIVE] == rep[b, RP_ACTIVE] and rep[a, RP_NREQ] < rep[b, RP_NREQ])


@njit(cache=True, nogil=True)
def _route(r, req, blocks, tokens, bi, lp, rep, sess_rep, ctl):
    nrep = int(lp[L_REPLICAS])
    if nrep == 1:
        return 0
    mode = int(lp[L_ROUTING])
    s = req[Q_SESS, r]
    if mode == RT_RANDOM:
        return np.random.randint(0, nrep)
    if mode == RT_RR:
        ctl[C_RR] += 1
        return (ctl[C_RR] - 1) % nrep
    least = 0
    for k in range(1, nrep):
        if _lighter(rep, k, least):
            least = k
    if mode == RT_AFFINITY:
        if sess_rep[s] < 0:
            sess_rep[s] = least
        return sess_rep[s]
    cap = np.inf
    if mode == RT_PREFIX_CAP:
        total = 0.0
        for k in range(nrep):
            total += rep[k, RP_ACTIVE]
        cap = max(1.0, np.ceil(lp[L_LOADCAP] * (total + 1.0) / nrep))
    best, best_hit = -1, -1
    nblk = int(lp[L_NBLK])
    for k in range(nrep):
        if rep[k, RP_ACTIVE] >= cap:
            continue
        dev, host, _ = leading_run(bi, blocks, tokens, req[Q_BASE, r], req[Q_NQUERY, r], k * nblk)
        hit = dev + host
        if hit > best_hit or (hit == best_hit and _lighter(rep, k, best)):
            best, best_hit = k, hit
    return least if best < 0 else best


@njit(cache=True, nogil=True, inline="always")
def start_request(r, now, req, blocks, tokens, layer, st, cp, lp, rep, sess_rep, ctl, out, lay, res):
    """Route, look up, touch (and pin) request ``r``'s prompt at ``now``; returns its replica.

    ``st`` is the block kernel's state plus, last, the chunked kernel's (:mod:`.segments`), which serves the
    request instead when ``lp[L_CHUNKED]`` is set."""
    bi, bt, gs, ls, rs, hist = st[0], st[1], st[2], st[3], st[4], st[5]
    k = 0 if lp[L_REPLICAS] == 1 else _route(r, req, blocks, tokens, bi, lp, rep, sess_rep, ctl)
    off = k * int(lp[L_NBLK])
    base, npr = req[Q_BASE, r], req[Q_NPROMPT, r]
    res[0] = res[1] = res[2] = 0  # not res[:] = 0: a slice is a view, and each view costs two atomic refcount updates
    if lp[L_CHUNKED] > 0:
        use_chunks(st[6], rs, cp, hist, lay, base, npr, now, res)
        evict_chunks(st[6], rs, cp, hist, now)
    else:
        if int(cp[P_POLICY]) == TTL:
            evict(bi, bt, gs, ls, rs, cp, hist, k, now)
        lay[0, req[Q_TAIL, r]] += req[Q_TAILTOK, r]  # prompt tokens outside full blocks (vllm)
        pin = 1 if lp[L_VLLM] > 0 else 0
        touch(bi, bt, gs, ls, rs, cp, hist, lay, layer, tokens, k, off, blocks, base, 0, npr, req[Q_NQUERY, r],
              res, True, pin, now, r)
        if lp[L_UNNAMED] > 0:
            rs[k, R_DEV] += req[Q_UNNAMED0, r]
            rep[k, RP_UNNAMED] += req[Q_UNNAMED0, r]
        evict(bi, bt, gs, ls, rs, cp, hist, k, now)
    dev, host = res[0], res[1]
    rep[k, RP_NREQ] += 1
    rep[k, RP_ACTIVE] += 1
    out[O_REP, r], out[O_ARR, r], out[O_HDEV, r], out[O_HHOST, r] = k, now, dev, host
    return k


@njit(cache=True, nogil=True, inline="always")
def first_token(r, now, req, st, cp, ep, rep, out):
    """Request ``r``'s prefill ended at ``now``: decode starts; returns its end time. Its first token and end
    are ``request_ms`` later (time outside the steps)."""
    rs = st[4]
    k = int(out[O_REP, r])
    rep[k, RP_DECODING] += 1
    rep[k, RP_CTX] += decode_context(r, req, ep)
    u = 0.0 if not np.isfinite(cp[P_CAP]) else min(1.0, (rs[k, R_DEV] - rep[k, RP_UNNAMED]) / max(cp[P_CAP], 1.0))
    itl = decode_ms(rep[k, RP_DECODING], u, ep, rep[k, RP_CTX])
    out[O_FIRST, r], out[O_ITL, r] = now + ep[E_REQ], itl
    out[O_DONE, r] = now + ep[E_REQ] + max(req[Q_OUT, r] - 1, 0) * itl
    return out[O_DONE, r]


@njit(cache=True, nogil=True, inline="always")
def end_request(r, now, req, blocks, tokens, layer, st, cp, ep, lp, rep, out, lay, res):
    """Cache the reply's full blocks and release the request's pins (vLLM semantics); free its slot."""
    bi, bt, gs, ls, rs, hist = st[0], st[1], st[2], st[3], st[4], st[5]
    k = int(out[O_REP, r])
    rep[k, RP_ACTIVE] -= 1
    rep[k, RP_DECODING] -= 1
    rep[k, RP_CTX] -= decode_context(r, req, ep)
    if lp[L_VLLM] <= 0:
        return
    off = k * int(lp[L_NBLK])
    base = req[Q_BASE, r]
    if lp[L_UNNAMED] > 0:
        rs[k, R_DEV] += req[Q_UNNAMED1, r] - req[Q_UNNAMED0, r]  # grown through decoding
        evict(bi, bt, gs, ls, rs, cp, hist, k, now)
        rs[k, R_DEV] -= req[Q_UNNAMED1, r]
        rep[k, RP_UNNAMED] -= req[Q_UNNAMED0, r]
    touch(bi, bt, gs, ls, rs, cp, hist, lay, layer, tokens, k, off, blocks, base, req[Q_NPROMPT, r],
          req[Q_NTOTAL, r], 0, res, False, 1, now, r)
    release_all(bi, ls, cp, k, off, blocks, base, req[Q_NTOTAL, r])
    evict(bi, bt, gs, ls, rs, cp, hist, k, now)


@njit(cache=True, nogil=True)
def run_file(lo, hi, order, req, reqf, blocks, tokens, layer, st, cp, ep, lp, rep, sess_rep, ctl, out, lay):
    """Requests ``order[lo:hi]`` at their nominal times, each alone."""
    res = np.zeros(3, np.int64)
    if lo == 0:
        seed_rng(int(lp[L_SEED]))
    for i in range(lo, hi):
        r = order[i]
        now = reqf[F_TIME, r]
        k = start_request(r, now, req, blocks, tokens, layer, st, cp, lp, rep, sess_rep, ctl, out, lay, res)
        busy = prefill_alone_ms(req[Q_PTOK, r] - res[0] - res[1], res[0] + res[1], ep) + transfer_ms(res[1], ep)
        rep[k, RP_BUSY] += busy
        first_token(r, now + busy, req, st, cp, ep, rep, out)
        end_request(r, now, req, blocks, tokens, layer, st, cp, ep, lp, rep, out, lay, res)
