"""A bounded sample of a workload: its first sessions in file order, as a workload of their own.

Sessions run back to back in file order, so the first ``k`` sessions see the same cache dynamics as any
other ``k`` consecutive ones; slicing keeps every array contiguous and costs no copy of the rest.
"""

from __future__ import annotations

import dataclasses

from agenttrace_pipeline.cachesim.workload import Workload


def first_sessions(w: Workload, k: int) -> Workload:
    """The workload of sessions ``0..k-1`` of ``w`` (all of it when ``k >= n_sessions``)."""
    k = max(0, min(k, w.n_sessions))
    rows = int(w.sess_first[k])
    ids = int(w.ids_off[rows])
    return dataclasses.replace(
        w, session=w.session[:rows], turn=w.turn[:rows], input_len=w.input_len[:rows],
        output_len=w.output_len[:rows], timestamp=w.timestamp[:rows], delay=w.delay[:rows], ids=w.ids[:ids],
        ids_off=w.ids_off[: rows + 1], id_layer=w.id_layer[:ids], sess_first=w.sess_first[: k + 1],
        session_names=w.session_names[:k])


def sessions_within(w: Workload, max_requests: int, max_sessions: int) -> int:
    """How many leading sessions fit in ``max_requests`` requests (at least one, at most ``max_sessions``)."""
    k = int((w.sess_first[1:] <= max_requests).sum())
    return max(1, min(k, max_sessions, w.n_sessions))
