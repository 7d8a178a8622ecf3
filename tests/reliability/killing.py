"""Start a process in its own process group, wait for a marker in its stderr, and SIGKILL the whole group."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent


def start(args: Sequence[str]) -> tuple[subprocess.Popen, queue.Queue]:
    """``python args…`` in a new session (its own process group); its stderr lines arrive on the queue."""
    proc = subprocess.Popen([sys.executable, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    lines: queue.Queue = queue.Queue()

    def pump() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return proc, lines


def kill_at(proc: subprocess.Popen, lines: queue.Queue, marker: str, timeout_s: float = 240.0) -> list[str]:
    """SIGKILL ``proc``'s process group as soon as a stderr line contains ``marker``; return the lines seen.

    Raises AssertionError (with the output) when the process ends or the time runs out before the marker."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=1.0)
        except queue.Empty:
            continue
        if line is None:
            break
        seen.append(line)
        if marker in line:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
            return seen
    kill_group(proc)
    raise AssertionError(f"marker {marker!r} never appeared (exit {proc.returncode}):\n{''.join(seen[-40:])}")


def kill_group(proc: subprocess.Popen) -> None:
    """Stop whatever is left of ``proc``'s group (a test that failed half-way)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=30)
