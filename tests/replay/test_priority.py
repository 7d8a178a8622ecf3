"""The sending thread's scheduling priority: raised when allowed, falls back when not, restored, per thread."""

from __future__ import annotations

import os
import resource
import threading
from pathlib import Path

import pytest

from agenttrace_pipeline.replay import priority
from agenttrace_pipeline.replay.options import EndpointSpec, ReplayOptions
from agenttrace_pipeline.replay.priority import sender_priority
from agenttrace_pipeline.replay.runner import run_replay
from agenttrace_pipeline.simserver.config import SimConfig
from agenttrace_pipeline.simserver.serve import running_sim

pytestmark = pytest.mark.skipif(not hasattr(os, "sched_setscheduler"), reason="Linux scheduling calls")
DATA = Path(__file__).parents[1] / "fixtures" / "replay" / "small_sessions.jsonl"


def _state() -> tuple[int, int, int]:
    return os.getpriority(os.PRIO_PROCESS, 0), os.sched_getscheduler(0), os.sched_getparam(0).sched_priority


def _may_raise_nice() -> bool:
    # root, already that high, or an RLIMIT_NICE soft limit of at least 20 - HIGH_NICE (see setrlimit(2))
    soft = resource.getrlimit(resource.RLIMIT_NICE)[0]
    allowed = soft == resource.RLIM_INFINITY or soft >= 20 - priority.HIGH_NICE
    return os.geteuid() == 0 or os.getpriority(os.PRIO_PROCESS, 0) <= priority.HIGH_NICE or allowed


def test_high_sets_nice_of_this_thread_only_and_restores_it():
    before, seen = _state(), {}

    def worker() -> None:
        with sender_priority("high") as got:
            seen["got"], seen["inside"] = got, _state()
            ready.set()
            done.wait(5)
        seen["after"] = _state()

    ready, done = threading.Event(), threading.Event()
    t = threading.Thread(target=worker)
    t.start()
    ready.wait(5)
    assert _state() == before  # Linux keeps nice per thread: the main thread is untouched
    done.set()
    t.join()
    if _may_raise_nice():
        assert seen["got"] == "high" and seen["inside"][0] <= priority.HIGH_NICE
    else:
        assert seen["got"] == "normal" and seen["inside"] == before
    assert seen["after"] == before


def test_normal_changes_nothing():
    before = _state()
    with sender_priority("normal") as got:
        assert got == "normal" and _state() == before


def test_realtime_uses_fifo_and_comes_back():
    before = _state()
    with sender_priority("realtime") as got:
        inside = _state()
    assert _state() == before
    if got == "realtime":
        assert inside[1] & ~os.SCHED_RESET_ON_FORK == os.SCHED_FIFO and inside[2] == priority.RT_PRIORITY
    else:  # not allowed here (no CAP_SYS_NICE, or a container without real-time bandwidth)
        assert got in ("high", "normal")


def test_falls_back_when_not_allowed(monkeypatch):
    def refuse(*_a: object) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "sched_setscheduler", refuse)
    before = _state()
    with sender_priority("realtime") as got:
        assert got == ("high" if _may_raise_nice() else "normal")
    assert _state() == before
    monkeypatch.setattr(os, "setpriority", refuse)
    with sender_priority("realtime") as got:
        assert got == ("high" if before[0] <= priority.HIGH_NICE else "normal") and _state() == before


def test_bad_level_is_refused():
    with pytest.raises(ValueError, match="sender priority"), sender_priority("urgent"):  # type: ignore[arg-type]
        pass
    with pytest.raises(ValueError, match="sender_priority"):
        ReplayOptions(sender_priority="urgent")  # type: ignore[arg-type]


def test_auto_is_high_in_both_modes_and_realtime_only_on_request():
    assert ReplayOptions(mode="fixed").priority_level() == "high"
    assert ReplayOptions(mode="fixed", sender_priority="realtime").priority_level() == "realtime"
    assert ReplayOptions(mode="closed").priority_level() == "high"
    assert ReplayOptions(mode="fixed", sender_priority="normal").priority_level() == "normal"


def test_replay_reports_the_level_it_ran_at():
    before = _state()
    with sender_priority("realtime") as rt_here:
        pass
    cfg = SimConfig(time_scale=0.0)
    with running_sim(cfg) as h:
        ep = EndpointSpec(h.url, "sim", "sim")
        normal = run_replay(DATA, ep, ReplayOptions(mode="closed", concurrency=4, sender_priority="normal"))
        closed = run_replay(DATA, ep, ReplayOptions(mode="closed", concurrency=4))
        fixed = run_replay(DATA, ep, ReplayOptions(mode="fixed", time_scale=0.02, sender_priority="realtime"))
    assert normal.summary["sender_priority"] == "normal"
    assert closed.summary["sender_priority"] == ("high" if _may_raise_nice() else "normal")
    assert fixed.summary["sender_priority"] == rt_here  # realtime where allowed, else what the fallback got
    for res in (normal, closed, fixed):
        assert res.requests.height == 46 and res.requests["error"].null_count() == 46
    assert _state() == before
