"""A lean HTTP/1.1 client for the replay's hot path: a keep-alive connection pool over asyncio streams.

Why not httpx here: at a few hundred requests per second its connection pool (httpcore) and line iterator
cost the replay's event loop more than a millisecond per request, which shows up directly as send lateness
(issue 12 asks for p99 ≤ 2 ms at 200 requests/s). This client does only what a replay needs — POST a JSON body,
read a streamed (chunked or sized) response body piece by piece — and leaves everything else (scrapes of
``/metrics``, the cache flush) to httpx.

A request that finds a kept-alive connection closed by the server (servers drop idle ones after a few seconds)
before any byte of the answer came back is retried once on a fresh connection, as httpx does.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from urllib.parse import urlsplit

Conn = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class ConnectFailed(OSError):
    """The server could not be reached (refused, unreachable, or the connect timed out)."""


class Response:
    """Status and lower-cased headers of one response; ``on_data`` received its body piece by piece."""

    def __init__(self, status: int, headers: dict[bytes, bytes]) -> None:
        self.status, self.headers = status, headers


class Pool:
    """At most ``size`` connections to ``base_url`` (http or https, with an optional path prefix), kept alive."""

    def __init__(self, base_url: str, size: int, headers: dict[str, str] | None = None, connect_s: float = 10.0) -> None:
        u = urlsplit(base_url)
        if u.scheme not in ("http", "https") or not u.hostname:
            raise ValueError(f"url: expected http(s)://host[:port], got {base_url!r}")
        self.host, self.tls = u.hostname, u.scheme == "https"
        self.port = u.port or (443 if self.tls else 80)
        self.prefix = u.path.rstrip("/")
        host = u.netloc.rsplit("@", 1)[-1]
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        self._head = f"host: {host}\r\ncontent-type: application/json\r\naccept: text/event-stream\r\n{extra}".encode()
        self.connect_s = connect_s
        self._idle: list[Conn] = []
        self._slots = asyncio.Semaphore(size)

    async def _open(self) -> Conn:
        ctx = ssl.create_default_context() if self.tls else None
        try:
            return await asyncio.wait_for(asyncio.open_connection(self.host, self.port, ssl=ctx), self.connect_s)
        except (OSError, TimeoutError) as exc:
            raise ConnectFailed(f"{self.host}:{self.port}: {exc!r}") from exc

    async def post(self, path: str, body: bytes, on_data: Callable[[bytes], None]) -> Response:
        """POST ``body`` to ``path``; every piece of the response body goes to ``on_data`` as it arrives.

        Raises ConnectFailed, ConnectionError / asyncio.IncompleteReadError (the connection dropped) or
        ValueError (not HTTP/1.1)."""
        req = b"POST %s HTTP/1.1\r\n%scontent-length: %d\r\n\r\n%s" % (
            (self.prefix + path).encode(), self._head, len(body), body)
        async with self._slots:
            while True:
                reused = bool(self._idle)
                conn = self._idle.pop() if reused else await self._open()
                try:
                    conn[1].write(req)
                    head = await conn[0].readuntil(b"\r\n\r\n")
                except (ConnectionError, asyncio.IncompleteReadError):
                    conn[1].close()
                    if reused:
                        continue  # a kept-alive connection the server had closed: once more on another
                    raise
                break
            try:
                res, keep = await _read_body(conn[0], head, on_data)
            except BaseException:
                conn[1].close()
                raise
            if keep:
                self._idle.append(conn)
            else:
                conn[1].close()
            return res

    async def aclose(self) -> None:
        for _, w in self._idle:
            w.close()
        self._idle.clear()


def _parse_head(head: bytes) -> Response:
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
        raise ValueError(f"not an HTTP/1.x status line: {lines[0][:80]!r}")
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return Response(int(parts[1]), headers)


async def _read_body(r: asyncio.StreamReader, head: bytes, on_data: Callable[[bytes], None]) -> tuple[Response, bool]:
    """Read the body announced by ``head``; returns the response and whether the connection can be kept."""
    res = _parse_head(head)
    h = res.headers
    keep = h.get(b"connection", b"").lower() != b"close"
    if b"chunked" in h.get(b"transfer-encoding", b"").lower():
        while True:
            size = int((await r.readuntil(b"\r\n")).split(b";", 1)[0], 16)
            if size == 0:
                while await r.readuntil(b"\r\n") != b"\r\n":  # trailers, then the empty line
                    pass
                return res, keep
            on_data((await r.readexactly(size + 2))[:-2])
    if b"content-length" in h:
        n = int(h[b"content-length"])
        if n:
            on_data(await r.readexactly(n))
        return res, keep
    while data := await r.read(1 << 16):  # neither: the body runs to the end of the connection
        on_data(data)
    return res, False
