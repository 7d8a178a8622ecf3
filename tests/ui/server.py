"""``dagster dev`` (webserver + daemon + code server) in its own process group on 127.0.0.1, with a throwaway
DAGSTER_HOME, warehouse, outputs and profiles; stopped as a whole group (SIGTERM, then SIGKILL)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from agenttrace_pipeline import settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def throwaway_env(root: Path) -> dict[str, str]:
    """Environment pointing every place the project writes at folders under ``root`` (DAGSTER_HOME made,
    telemetry off); real trace data is replaced by an empty folder, so the bundled samples are used."""
    home = root / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    (root / "no_shared_data").mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTTRACE_", "DAGSTER_"))}
    return env | {
        "DAGSTER_HOME": str(home), "AGENTTRACE_WAREHOUSE": str(root / "wh" / "agenttrace.duckdb"),
        "AGENTTRACE_OUTPUT": str(root / "outputs"), "AGENTTRACE_PROFILES": str(root / "profiles"),
        "AGENTTRACE_CACHE": str(root / "cache"), "AGENTTRACE_SHARED_DATA": str(root / "no_shared_data"),
        "AGENTTRACE_OFFLINE": "1",
    }


@dataclass
class DagsterServer:
    url: str
    proc: subprocess.Popen
    env: dict[str, str]

    def graphql(self, query: str, variables: dict | None = None, timeout: float = 60) -> dict[str, Any]:
        r = httpx.post(f"{self.url}/graphql", json={"query": query, "variables": variables or {}}, timeout=timeout)
        r.raise_for_status()
        body = r.json()
        assert not body.get("errors"), body["errors"]
        return body["data"]


def wait_for_graphql(url: str, proc: subprocess.Popen, timeout_s: float = 180) -> None:
    """Until the webserver answers with the code location's assets loaded (or the process dies)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with status {proc.returncode} before it answered")
        try:
            r = httpx.post(f"{url}/graphql", json={"query": "{ assetNodes { id } }"}, timeout=5)
            if (r.json().get("data") or {}).get("assetNodes"):
                return
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(1)
    raise TimeoutError(f"{url} did not serve the code location within {timeout_s:.0f} s")


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


def stop_group(proc: subprocess.Popen) -> None:
    """SIGTERM to the whole process group, SIGKILL what is left after 20 s; no child outlives it."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if not group_alive(proc.pid):
            return
        os.killpg(proc.pid, sig)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and group_alive(proc.pid):
            proc.poll()  # reap the leader, or it lingers as a zombie in the group
            time.sleep(0.2)


@contextmanager
def dagster_dev(root: Path, log: Path) -> Iterator[DagsterServer]:
    """The README's ``dagster dev -w workspace.yaml -h 127.0.0.1 -p PORT`` with a throwaway environment."""
    env = throwaway_env(root)
    port = free_port()
    cmd = [sys.executable, "-m", "dagster", "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=settings.PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for_graphql(url, proc)
        yield DagsterServer(url, proc, env)
    finally:
        stop_group(proc)
