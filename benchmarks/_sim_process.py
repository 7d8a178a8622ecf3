"""Benchmark helpers: ``agenttrace serve-sim`` in its own process (as a user runs it), its CPU time, machine load."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from agenttrace_pipeline.simserver.serve import free_port, wait_healthy


@contextmanager
def serve_sim(*args: str) -> Iterator[tuple[str, int]]:
    """Start ``agenttrace serve-sim ARGS`` on a free port; yields (base URL, pid); stops it on exit."""
    port = free_port()
    exe = Path(sys.executable).with_name("agenttrace")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "agenttrace_pipeline.cli"]
    proc = subprocess.Popen([*cmd, "serve-sim", "--port", str(port), *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, 60.0, lambda: proc.poll() is None)
        yield url, proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def conditions() -> str:
    """Cores, load average and CPU pressure (share of time some runnable task waited for a CPU, last 10 s)."""
    load = os.getloadavg()[0]
    psi = ""
    try:
        some = Path("/proc/pressure/cpu").read_text().split()[1]  # "avg10=…"
        psi = f", CPU pressure {some.split('=')[1]} %"
    except (OSError, IndexError):
        pass
    return f"{os.cpu_count()} cores, load average {load:.1f}{psi}"
