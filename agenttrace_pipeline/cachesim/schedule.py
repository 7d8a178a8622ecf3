"""The timed load modes (open and closed loop): a binary heap of request starts, prefill steps and request
ends on a virtual clock.

Events at the same time run in the order they were scheduled. The loop runs at most ``budget`` events per
call and keeps its heap in arrays, so a caller can report progress between calls.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from agenttrace_pipeline.cachesim.eventloop import (
    C_DONE,
    C_HSIZE,
    C_NEXT_SESS,
    C_SEQ,
    F_DELAY,
    F_TIME,
    L_CONC,
    L_MODE,
    L_SEED,
    MODE_CLOSED,
    Q_NEXT,
    Q_PTOK,
    end_request,
    first_token,
    seed_rng,
    start_request,
    transfer_ms,
)
from agenttrace_pipeline.cachesim.prefill import Q_BUSY, enqueue, pop_done, start_step

START, END, STEP = range(3)  # event kinds; payload = 3 * (request or replica) + kind


def new_heap(n_requests: int, replicas: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Heap arrays (time, sequence, payload) and the control counters."""
    cap = 2 * n_requests + replicas + 2
    return np.zeros(cap), np.zeros(cap, np.int64), np.zeros(cap, np.int64), np.zeros(8, np.int64)


@njit(cache=True, nogil=True)
def _less(ht, hs, i, j):
    return ht[i] < ht[j] or (ht[i] == ht[j] and hs[i] < hs[j])


@njit(cache=True, nogil=True)
def _swap(ht, hs, hp, i, j):
    ht[i], ht[j] = ht[j], ht[i]
    hs[i], hs[j] = hs[j], hs[i]
    hp[i], hp[j] = hp[j], hp[i]


@njit(cache=True, nogil=True)
def push(ht, hs, hp, ctl, t, payload):
    i = ctl[C_HSIZE]
    ht[i], hs[i], hp[i] = t, ctl[C_SEQ], payload
    ctl[C_HSIZE] += 1
    ctl[C_SEQ] += 1
    while i > 0:
        parent = (i - 1) // 2
        if not _less(ht, hs, i, parent):
            break
        _swap(ht, hs, hp, i, parent)
        i = parent


@njit(cache=True, nogil=True)
def pop(ht, hs, hp, ctl):
    t, p = ht[0], hp[0]
    ctl[C_HSIZE] -= 1
    n = ctl[C_HSIZE]
    _swap(ht, hs, hp, 0, n)
    i = 0
    while True:
        c = 2 * i + 1
        if c >= n:
            break
        if c + 1 < n and _less(ht, hs, c + 1, c):
            c += 1
        if not _less(ht, hs, c, i):
            break
        _swap(ht, hs, hp, i, c)
        i = c
    return t, p


@njit(cache=True, nogil=True)
def seed_events(ht, hs, hp, ctl, lp, reqf, sess_first, sess_order):
    """Schedule the first turns: every session at its timestamp (open), or the first ``concurrency``
    sessions of ``sess_order`` at time 0 (closed)."""
    n_sess = sess_order.size
    seed_rng(int(lp[L_SEED]))
    if int(lp[L_MODE]) == MODE_CLOSED:
        first_n = min(n_sess, int(lp[L_CONC]))
        for i in range(first_n):
            push(ht, hs, hp, ctl, 0.0, 3 * sess_first[sess_order[i]] + START)
        ctl[C_NEXT_SESS] = first_n
    else:
        for i in range(n_sess):
            r = sess_first[sess_order[i]]
            push(ht, hs, hp, ctl, reqf[F_TIME, r], 3 * r + START)


@njit(cache=True, nogil=True, inline="always")
def _admit(r, t, args, ep, pq, qnext, left, xfer, heap):
    req, reqf, blocks, tokens, layer, st, cp, lp, rep, sess_rep, ctl, out, lay, res = args
    ht, hs, hp = heap
    k = start_request(r, t, req, blocks, tokens, layer, st, cp, lp, rep, sess_rep, ctl, out, lay, res)
    enqueue(k, r, req[Q_PTOK, r] - res[0] - res[1], transfer_ms(res[1], ep), pq, qnext, left, xfer)
    if pq[k, Q_BUSY] == 0:
        push(ht, hs, hp, ctl, t + start_step(k, pq, qnext, left, xfer, ep, rep, req), 3 * k + STEP)


@njit(cache=True, nogil=True, inline="always")
def _step_done(k, t, args, ep, pq, qnext, left, xfer, heap):
    req, reqf, blocks, tokens, layer, st, cp, lp, rep, sess_rep, ctl, out, lay, res = args
    ht, hs, hp = heap
    pq[k, Q_BUSY] = 0
    r = pop_done(k, pq, qnext, left)
    while r >= 0:
        push(ht, hs, hp, ctl, first_token(r, t, req, st, cp, ep, rep, out), 3 * r + END)
        r = pop_done(k, pq, qnext, left)
    busy = start_step(k, pq, qnext, left, xfer, ep, rep, req)
    if busy >= 0:
        push(ht, hs, hp, ctl, t + busy, 3 * k + STEP)


@njit(cache=True, nogil=True)
def run_events(budget, ht, hs, hp, ctl, sess_first, sess_order, req, reqf, blocks, tokens, layer, st,
               cp, ep, lp, rep, sess_rep, out, lay, pq, qnext, left, xfer):
    """Process up to ``budget`` events; returns how many ran (0 once the heap is empty)."""
    done = 0
    res = np.zeros(3, np.int64)
    heap = (ht, hs, hp)
    args = (req, reqf, blocks, tokens, layer, st, cp, lp, rep, sess_rep, ctl, out, lay, res)
    while done < budget and ctl[C_HSIZE] > 0:
        t, p = pop(ht, hs, hp, ctl)
        x, kind = p // 3, p % 3
        if kind == START:
            _admit(x, t, args, ep, pq, qnext, left, xfer, heap)
        elif kind == STEP:
            _step_done(x, t, args, ep, pq, qnext, left, xfer, heap)
        else:
            end_request(x, t, req, blocks, tokens, layer, st, cp, ep, lp, rep, out, lay, res)
            nxt = req[Q_NEXT, x]
            if nxt >= 0:
                push(ht, hs, hp, ctl, t + reqf[F_DELAY, nxt], 3 * nxt + START)
            elif int(lp[L_MODE]) == MODE_CLOSED and ctl[C_NEXT_SESS] < sess_order.size:
                push(ht, hs, hp, ctl, t, 3 * sess_first[sess_order[ctl[C_NEXT_SESS]]] + START)
                ctl[C_NEXT_SESS] += 1
            ctl[C_DONE] += 1
        done += 1
    return done
