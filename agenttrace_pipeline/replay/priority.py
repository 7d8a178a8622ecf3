"""The scheduling priority of the thread that sends a wall-clock replay's requests.

Why: measured at 200 requests/s on a 2-core machine shared with the engine and other work, nearly every send more
than 1 ms late had woken from its timer late because the thread sat runnable in the kernel's run queue
(``/proc/self/task/<tid>/schedstat`` showed 1–7 ms of run-queue wait across those sleeps, 0 ms for the median
send), not because the event loop was busy reading responses. A higher priority shortens that wait: nice −10 took
p99 lateness from 1.8–2.7 ms to 0.25–0.7 ms, ``SCHED_FIFO`` to 0.15–0.25 ms (1,000 requests each, load 0.8).

Levels (``ReplayOptions.sender_priority``, whose ``auto`` picks realtime in fixed mode and high in closed mode):
``normal`` leaves the thread as it is; ``high`` sets nice −10; ``realtime`` sets ``SCHED_FIFO`` priority
10 (with reset-on-fork, so threads and processes it starts run normally). Each is best effort: without the
privilege (root, ``CAP_SYS_NICE`` or a large enough ``RLIMIT_NICE``/``RLIMIT_RTPRIO``), or off Linux, the level
falls back (realtime → high → normal) and the level obtained is reported. Linux keeps nice and the scheduling
policy per thread, so only the calling thread changes, and it is restored afterwards.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

Level = Literal["normal", "high", "realtime"]
LEVELS: tuple[Level, ...] = ("normal", "high", "realtime")
HIGH_NICE = -10
RT_PRIORITY = 10


def _try_realtime() -> bool:
    if not hasattr(os, "sched_setscheduler"):
        return False
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO | os.SCHED_RESET_ON_FORK, os.sched_param(RT_PRIORITY))
    except (OSError, AttributeError):
        return False
    return True


def _try_high(old_nice: int) -> bool:
    if old_nice <= HIGH_NICE:
        return True  # already at least this high
    try:
        os.setpriority(os.PRIO_PROCESS, 0, HIGH_NICE)
    except (OSError, AttributeError):
        return False
    return True


@contextmanager
def sender_priority(level: Level) -> Iterator[Level]:
    """Raise the calling thread to ``level`` for the ``with`` block and yield the level obtained (never higher
    than asked); the thread's previous nice value and scheduling policy come back on exit."""
    if level not in LEVELS:
        raise ValueError(f"sender priority: expected one of {', '.join(LEVELS)}, got {level!r}")
    has_policy = hasattr(os, "sched_getscheduler")
    old_policy = os.sched_getscheduler(0) if has_policy else None
    old_param = os.sched_getparam(0) if has_policy else None
    old_nice = os.getpriority(os.PRIO_PROCESS, 0) if hasattr(os, "getpriority") else None
    got: Level = "normal"
    if level == "realtime" and _try_realtime():
        got = "realtime"
    elif level in ("high", "realtime") and old_nice is not None and _try_high(old_nice):
        got = "high"
    try:
        yield got
    finally:
        if got == "realtime" and old_policy is not None and old_param is not None:
            os.sched_setscheduler(0, old_policy, old_param)
        elif got == "high" and old_nice is not None and old_nice > HIGH_NICE:
            os.setpriority(os.PRIO_PROCESS, 0, old_nice)  # lowering one's own priority is always allowed
