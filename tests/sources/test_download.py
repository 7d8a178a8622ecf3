"""Downloads against a real HTTP server on 127.0.0.1 that injects faults."""

from __future__ import annotations

import hashlib
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from agenttrace_pipeline.sources.download import DownloadError, FetchPolicy, fetch

BODY = b"".join(b'{"timestamp":%d,"input_length":600,"output_length":1,"hash_ids":[0,%d]}\n' % (i, i + 1) for i in range(2000))
SHA = hashlib.sha256(BODY).hexdigest()
FAST = FetchPolicy(timeout_s=0.5, retries=3, backoff_s=0.01)


class FaultyHandler(BaseHTTPRequestHandler):
    hits: Counter = Counter()

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def _send(self, code: int, body: bytes, ctype: str = "application/jsonl", start: int = 0) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        if code == 206:
            self.send_header("Content-Range", f"bytes {start}-{start + len(body) - 1}/{len(BODY)}")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # the name http.server dispatches GET requests to
        n = self.hits[self.path] = self.hits[self.path] + 1
        rng = self.headers.get("Range")
        if self.path == "/flaky.jsonl":
            return self._send(500, b"oops") if n <= 2 else self._send(200, BODY)
        if self.path == "/truncated.jsonl":
            if n == 1:  # promise everything, deliver half, hang up
                self.send_response(200)
                self.send_header("Content-Length", str(len(BODY)))
                self.end_headers()
                self.wfile.write(BODY[: len(BODY) // 2])
                self.wfile.flush()
                self.close_connection = True
                return None
            start = int(rng.split("=")[1].rstrip("-")) if rng else 0
            return self._send(206 if rng else 200, BODY[start:], start=start)
        if self.path == "/html.jsonl":
            return self._send(200, b"<html><body>Sign in</body></html>", "text/html; charset=utf-8")
        if self.path == "/slow.jsonl":
            if n == 1:
                time.sleep(1.5)
            return self._send(200, BODY)
        if self.path == "/always500.jsonl":
            return self._send(503, b"down")
        if self.path == "/data.jsonl":
            return self._send(200, BODY)
        return self._send(404, b"not found", "text/plain")


@pytest.fixture
def server():
    FaultyHandler.hits = Counter()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), FaultyHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_retries_500s_then_succeeds(server: str, tmp_path: Path):
    path = fetch(f"{server}/flaky.jsonl", sha256=SHA, cache_dir=tmp_path, policy=FAST)
    assert path.read_bytes() == BODY and FaultyHandler.hits["/flaky.jsonl"] == 3


def test_truncated_body_is_resumed_with_a_range_request(server: str, tmp_path: Path):
    path = fetch(f"{server}/truncated.jsonl", sha256=SHA, cache_dir=tmp_path, policy=FAST)
    assert path.read_bytes() == BODY


def test_timeout_is_retried(server: str, tmp_path: Path):
    assert fetch(f"{server}/slow.jsonl", cache_dir=tmp_path, policy=FAST).read_bytes() == BODY


def test_wrong_checksum_is_an_error_and_leaves_nothing(server: str, tmp_path: Path):
    with pytest.raises(DownloadError, match="sha256 mismatch"):
        fetch(f"{server}/data.jsonl", sha256="0" * 64, cache_dir=tmp_path, policy=FAST)
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


def test_html_error_page_is_rejected(server: str, tmp_path: Path):
    with pytest.raises(DownloadError, match="HTML page"):
        fetch(f"{server}/html.jsonl", cache_dir=tmp_path, policy=FAST)


def test_404_fails_at_once_naming_the_url(server: str, tmp_path: Path):
    with pytest.raises(DownloadError, match=r"/nope\.jsonl: HTTP 404"):
        fetch(f"{server}/nope.jsonl", cache_dir=tmp_path, policy=FAST)
    assert FaultyHandler.hits["/nope.jsonl"] == 1


def test_persistent_5xx_gives_up_after_the_retries(server: str, tmp_path: Path):
    with pytest.raises(DownloadError, match="failed after 4 attempts"):
        fetch(f"{server}/always500.jsonl", cache_dir=tmp_path, policy=FAST)


def test_offline_mode_uses_only_the_cache(server: str, tmp_path: Path):
    url = f"{server}/data.jsonl"
    with pytest.raises(DownloadError, match="offline"):
        fetch(url, cache_dir=tmp_path, policy=FetchPolicy(offline=True))
    fetch(url, cache_dir=tmp_path, policy=FAST)
    hits = FaultyHandler.hits[url.split(server)[1]]
    assert fetch(url, cache_dir=tmp_path, policy=FetchPolicy(offline=True)).read_bytes() == BODY
    assert FaultyHandler.hits["/data.jsonl"] == hits


def test_credentials_in_the_url_never_reach_the_error(server: str, tmp_path: Path):
    url = server.replace("http://", "http://user:s3cret@") + "/nope.jsonl?token=abc123"
    with pytest.raises(DownloadError) as exc:
        fetch(url, cache_dir=tmp_path, policy=FAST)
    assert "s3cret" not in str(exc.value) and "abc123" not in str(exc.value)
