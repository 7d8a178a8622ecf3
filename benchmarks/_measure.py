"""Helpers for benchmarks: run a command in a child process and report wall time and peak RSS."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass


@dataclass
class Measured:
    wall_s: float
    peak_rss_mb: float
    returncode: int
    stdout: str
    cpu_s: float = 0.0  # user + system CPU of the child: steadier than wall time on a shared machine


def run_measured(cmd: list[str], env: dict[str, str] | None = None) -> Measured:
    """Run ``cmd`` in a fresh child (via a tiny wrapper so ru_maxrss is that child's alone)."""
    wrapper = [sys.executable, "-c", (
        "import resource,subprocess,sys,json;"
        "p=subprocess.run(sys.argv[1:],capture_output=True,text=True);"
        "sys.stderr.write(p.stderr);"
        "r=resource.getrusage(resource.RUSAGE_CHILDREN);"
        "print(json.dumps({'rc':p.returncode,'rss':r.ru_maxrss,'cpu':r.ru_utime+r.ru_stime,'out':p.stdout}))"
    ), *cmd]
    t0 = time.perf_counter()
    proc = subprocess.run(wrapper, capture_output=True, text=True, env={**os.environ, **(env or {})})
    wall = time.perf_counter() - t0
    import json

    data = json.loads(proc.stdout.strip().splitlines()[-1])
    return Measured(wall, data["rss"] / 1024, data["rc"], data["out"], data["cpu"])


def self_peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
