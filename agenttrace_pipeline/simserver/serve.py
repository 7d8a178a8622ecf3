"""Running the simulated engine: in the foreground (the CLI) or in a background thread (:func:`running_sim`)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import uvicorn

from agenttrace_pipeline.simserver.app import SimApp
from agenttrace_pipeline.simserver.config import SimConfig


@dataclass(frozen=True)
class SimHandle:
    """A started simulated engine: its base URL (``http://host:port``), served model name and app."""

    url: str
    model: str
    app: SimApp


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _server(app: SimApp, host: str, port: int) -> uvicorn.Server:
    cfg = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False, loop="auto",
                         http="auto", lifespan="on", timeout_keep_alive=30, proxy_headers=False, server_header=False)
    return uvicorn.Server(cfg)


def serve(config: SimConfig, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve in the foreground until interrupted."""
    _server(SimApp(config), host, port).run()


def wait_healthy(url: str, timeout_s: float, alive: Callable[[], bool]) -> None:
    """Poll ``url``/health until it answers 200; RuntimeError after ``timeout_s`` or once ``alive()`` is False."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if httpx.get(f"{url}/health", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or not alive():
            raise RuntimeError(f"simulated engine did not start on {url} within {timeout_s} s")
        time.sleep(0.05)


@contextmanager
def running_sim(config: SimConfig | None = None, host: str = "127.0.0.1", port: int | None = None,
                startup_timeout_s: float = 20.0) -> Iterator[SimHandle]:
    """Start the simulated engine on ``host`` (a free port unless given) in a thread; stop it on exit.

    Raises RuntimeError when it does not answer ``/health`` within ``startup_timeout_s``."""
    config = config or SimConfig()
    app = SimApp(config)
    port = port or free_port(host)
    server = _server(app, host, port)
    thread = threading.Thread(target=server.run, name=f"sim-engine-{port}", daemon=True)
    thread.start()
    url = f"http://{host}:{port}"
    try:
        wait_healthy(url, startup_timeout_s, thread.is_alive)
        yield SimHandle(url, config.model, app)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
