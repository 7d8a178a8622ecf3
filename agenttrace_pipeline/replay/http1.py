"""A lean HTTP/1.1 client for the replay's hot path: a keep-alive connection pool over asyncio streams.

Why not httpx here: at a few hundred requests per second its connection pool (httpcore) and line iterator
cost the replay's event loop more than a millisecond per request, which shows up directly as send lateness
(issue 12 asks for p99 ≤ 2 ms at 200 requests/s). This client does only what a replay needs — POST a JSON body,
read a streamed (chunked or sized) response body piece by piece — and leaves everything else (scrapes of
``/metrics``, the cache flush) to httpx.

Responses are parsed inside the connection's ``data_received`` (an :class:`asyncio.Protocol`, no task wake-up per
piece): an engine that answers a whole batch at once sends a burst of pieces, and a send due during that burst
waits only as long as the burst takes to parse.

A request that finds a kept-alive connection closed by the server (servers drop idle ones after a few seconds)
before any byte of the answer came back is retried once on a fresh connection, as httpx does.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from urllib.parse import urlsplit


class ConnectFailed(OSError):
    """The server could not be reached (refused, unreachable, or the connect timed out)."""


class Dropped(ConnectionError):
    """The connection closed before the response was complete; ``started``: some of the response had come."""

    def __init__(self, started: bool) -> None:
        super().__init__("connection closed mid-response" if started else "connection closed before a response")
        self.started = started


class Response:
    """Status and lower-cased headers of one response; ``on_data`` received its body piece by piece."""

    def __init__(self, status: int, headers: dict[bytes, bytes]) -> None:
        self.status, self.headers = status, headers


class _Conn(asyncio.Protocol):
    """One kept-alive connection parsing one response at a time: head, then a chunked, sized or to-EOF body."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self._fut: asyncio.Future[tuple[Response, bool]] | None = None
        self._buf, self._mode, self._left = b"", "head", 0
        self._res: Response | None = None
        self._on: Callable[[bytes], None] = _ignore

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def start(self, req: bytes, on_data: Callable[[bytes], None]) -> asyncio.Future[tuple[Response, bool]]:
        self._buf, self._on, self._res, self._mode, self._left = b"", on_data, None, "head", 0
        self._fut = asyncio.get_running_loop().create_future()
        assert self.transport is not None
        if self.closed or self.transport.is_closing():
            # closed while idle (a server drops idle keep-alive connections after a few seconds): a write would
            # vanish and no connection_lost would follow, so the answer would be waited for until the timeout
            self._fut.set_exception(Dropped(False))
            fut, self._fut = self._fut, None
            return fut
        self.transport.write(req)
        return self._fut

    def _done(self, keep: bool) -> None:
        fut, self._fut = self._fut, None
        if fut is not None and not fut.done():
            assert self._res is not None
            fut.set_result((self._res, keep and self._res.headers.get(b"connection", b"").lower() != b"close"))

    def data_received(self, data: bytes) -> None:
        if self._fut is None:
            return  # nothing asked: a stray byte after a response; the connection is not reused
        self._buf += data
        try:
            self._parse()
        except ValueError as exc:  # not HTTP/1.1, or a bad chunk size
            self._fut.set_exception(exc)
            self._fut = None

    def _parse(self) -> None:
        while self._fut is not None:
            buf = self._buf
            if self._mode == "head":
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    return
                self._res = _parse_head(buf[:end])
                self._buf = buf[end + 4:]
                h = self._res.headers
                if b"chunked" in h.get(b"transfer-encoding", b"").lower():
                    self._mode = "size"
                elif b"content-length" in h:
                    self._mode, self._left = "length", int(h[b"content-length"])
                else:
                    self._mode = "eof"
            elif self._mode == "size":
                end = buf.find(b"\r\n")
                if end < 0:
                    return
                self._left = int(buf[:end].split(b";", 1)[0], 16)
                self._buf = buf[end + 2:]
                self._mode = "chunk" if self._left else "trailer"
            elif self._mode == "chunk":
                if len(buf) < self._left + 2:
                    return
                self._on(buf[: self._left])
                self._buf = buf[self._left + 2:]
                self._mode = "size"
            elif self._mode == "trailer":  # optional trailer lines, then an empty line
                if buf.startswith(b"\r\n"):
                    return self._done(True)
                if buf.find(b"\r\n\r\n") < 0:
                    return
                return self._done(True)
            elif self._mode == "length":
                if len(buf) < self._left:
                    return
                if self._left:
                    self._on(buf[: self._left])
                return self._done(True)
            else:  # eof: hand over what came; the end comes with connection_lost
                if buf:
                    self._on(buf)
                    self._buf = b""
                return

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._fut is not None and not self._fut.done():
            if self._mode == "eof":
                self._done(False)
            else:
                self._fut.set_exception(Dropped(self._mode != "head" or bool(self._buf)))
        self._fut = None


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
        self._idle: list[_Conn] = []
        self._slots = asyncio.Semaphore(size)

    async def _open(self) -> _Conn:
        ctx = ssl.create_default_context() if self.tls else None
        loop = asyncio.get_running_loop()
        try:
            _, conn = await asyncio.wait_for(loop.create_connection(_Conn, self.host, self.port, ssl=ctx), self.connect_s)
        except (OSError, TimeoutError) as exc:
            raise ConnectFailed(f"{self.host}:{self.port}: {exc!r}") from exc
        return conn

    async def post(self, path: str, body: bytes, on_data: Callable[[bytes], None]) -> Response:
        """POST ``body`` to ``path``; every piece of the response body goes to ``on_data`` as it arrives.

        Raises ConnectFailed, :class:`Dropped` (the connection closed mid-way) or ValueError (not HTTP/1.1)."""
        req = b"POST %s HTTP/1.1\r\n%scontent-length: %d\r\n\r\n%s" % (
            (self.prefix + path).encode(), self._head, len(body), body)
        async with self._slots:
            while True:
                reused = bool(self._idle)
                conn = self._idle.pop() if reused else await self._open()
                try:
                    res, keep = await conn.start(req, on_data)
                except Dropped as exc:
                    if reused and not exc.started:
                        continue  # a kept-alive connection the server had closed: once more on another
                    raise
                except BaseException:
                    if conn.transport is not None:
                        conn.transport.close()
                    raise
                if keep and not conn.closed:
                    self._idle.append(conn)
                elif conn.transport is not None:
                    conn.transport.close()
                return res

    async def aclose(self) -> None:
        for c in self._idle:
            if c.transport is not None:
                c.transport.close()
        self._idle.clear()


def _ignore(piece: bytes) -> None:
    """The body sink of a connection with no request in flight."""


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
