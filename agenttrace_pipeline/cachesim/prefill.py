"""Per-replica prefill queues with chunked batching, for the timed load modes.

A replica's queue holds admitted requests in arrival order with their uncached tokens still to compute.
A step takes tokens from the head, request after request, until ``max_batch_tokens`` (0: no limit); its
duration is ``prefill_ms(tokens in the step)`` plus the host-to-device transfer of each request the step
starts. When a step ends, the requests at the head with nothing left get their first token.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from agenttrace_pipeline.cachesim.eventloop import E_BATCH, Q_PTOK, RP_BUSY, prefill_ms

Q_HEAD, Q_TAIL, Q_BUSY = range(3)


def new_queues(replicas: int, n_requests: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(per-replica head/tail/busy, next-in-queue per request, tokens left, transfer ms not yet paid)."""
    pq = np.full((replicas, 3), -1, np.int64)
    pq[:, Q_BUSY] = 0
    return pq, np.full(n_requests, -1, np.int64), np.zeros(n_requests), np.zeros(n_requests)


@njit(cache=True, nogil=True)
def enqueue(k, r, tokens, xfer_ms, pq, qnext, left, xfer):
    left[r] = tokens
    xfer[r] = xfer_ms
    qnext[r] = -1
    if pq[k, Q_TAIL] >= 0:
        qnext[pq[k, Q_TAIL]] = r
    else:
        pq[k, Q_HEAD] = r
    pq[k, Q_TAIL] = r


@njit(cache=True, nogil=True)
def start_step(k, pq, qnext, left, xfer, ep, rep, req):
    """Begin a step on idle replica ``k``; returns its duration in ms, or -1 when the queue is empty. Each chunk
    attends the prompt tokens before it (``req``'s prompt size less what is left) and half of itself."""
    r = pq[k, Q_HEAD]
    if r < 0:
        return -1.0
    cap = ep[E_BATCH] if ep[E_BATCH] > 0 else np.inf
    taken = 0.0
    extra = 0.0
    attended = 0.0
    while r >= 0 and (taken < cap or left[r] <= 0):
        m = min(left[r], cap - taken)
        attended += m * (req[Q_PTOK, r] - left[r] + m / 2)
        taken += m
        left[r] -= m
        extra += xfer[r]
        xfer[r] = 0.0
        r = qnext[r]
    pq[k, Q_BUSY] = 1
    busy = prefill_ms(taken, ep, attended) + extra
    rep[k, RP_BUSY] += busy
    return busy


@njit(cache=True, nogil=True)
def pop_done(k, pq, qnext, left):
    """The next request at the head of ``k``'s queue whose prefill is complete (removed), or -1."""
    r = pq[k, Q_HEAD]
    if r < 0 or left[r] > 0:
        return -1
    pq[k, Q_HEAD] = qnext[r]
    if qnext[r] < 0:
        pq[k, Q_TAIL] = -1
    return r
