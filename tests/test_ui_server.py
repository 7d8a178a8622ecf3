"""`agenttrace ui` serves the Dagster UI on 127.0.0.1 with our code location loaded."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_ui_serves_the_code_location_on_loopback(isolated: Path):
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "agenttrace_pipeline.cli", "ui", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, env=os.environ.copy(),
    )
    try:
        deadline = time.monotonic() + 120
        query = '{ assetNodes { assetKey { path } } }'
        nodes = None
        while time.monotonic() < deadline:
            try:
                r = httpx.post(f"http://127.0.0.1:{port}/graphql", json={"query": query}, timeout=5)
                data = r.json().get("data") or {}
                if data.get("assetNodes"):
                    nodes = data["assetNodes"]
                    break
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(1)
        assert nodes is not None, "the UI did not come up within 120 s"
        keys = {"/".join(n["assetKey"]["path"]) for n in nodes}
        assert {"mooncake_reference_traces", "synthetic_dataset", "dataset_quality"} <= keys
        listening = subprocess.run(["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True).stdout
        if listening:  # ss is there: every listening socket on the port is bound to loopback
            local = {line.split()[3] for line in listening.splitlines()}
            assert local == {f"127.0.0.1:{port}"}, local
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
