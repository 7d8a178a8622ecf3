"""A user sources file with one local and one URL source, and a tiny HTTP server on 127.0.0.1 whose ETag the
test controls (it answers HEAD and GET, and can be told to fail)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import orjson
import pytest


@dataclass
class Served:
    etag: str = '"v1"'
    status: int = 200
    body: bytes = b'{"x": 1}\n'
    heads: int = 0


@pytest.fixture
def http_server() -> Iterator[tuple[str, Served]]:
    served = Served()

    class Handler(BaseHTTPRequestHandler):
        def _headers(self) -> None:
            self.send_response(served.status)
            self.send_header("ETag", served.etag)
            self.send_header("Content-Length", str(len(served.body)))
            self.end_headers()

        def do_HEAD(self) -> None:
            served.heads += 1
            self._headers()

        def do_GET(self) -> None:
            self._headers()
            self.wfile.write(served.body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", served
    finally:
        server.shutdown()
        server.server_close()


def write_sources(path: Path, local: list[str], urls: list[str]) -> Path:
    """A user sources file that replaces the bundled list with two of its names (whose assets exist):
    ``mini_swe_agent_chat`` from ``local`` paths, ``agenttrace`` from ``urls``."""
    path.write_bytes(orjson.dumps({"mode": "replace", "sources": [
        {"name": "mini_swe_agent_chat", "format": "mini_swe_agent", "locations": local},
        {"name": "agenttrace", "format": "agenttrace", "locations": urls},
    ]}))
    return path
