"""The replay's lean HTTP/1.1 client against scripted servers: bodies, kept-alive connections and faults."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import orjson

from agenttrace_pipeline.replay.client import body, send
from agenttrace_pipeline.replay.http1 import Pool
from agenttrace_pipeline.simserver.serve import free_port

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, int], Awaitable[None]]


def _sse(*events: dict) -> bytes:
    return b"".join(b"data: " + orjson.dumps(e) + b"\n\n" for e in events) + b"data: [DONE]\n\n"


STREAM = _sse({"choices": [{"index": 0, "text": "ab", "finish_reason": None}]},
              {"choices": [{"index": 0, "text": "c", "finish_reason": "length"}]},
              {"choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 3}})


async def _request(r: asyncio.StreamReader) -> bytes:
    head = await r.readuntil(b"\r\n\r\n")
    n = int(next(h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")).split(b":")[1])
    return await r.readexactly(n)


def _run(handler: Handler, n_requests: int, timeout_s: float = 5.0, gap_s: float = 0.0) -> list:
    """Serve ``handler`` (called with reader, writer and the connection's number) and send ``n_requests`` in turn."""
    async def main() -> list:
        count = 0

        async def on_conn(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            nonlocal count
            count += 1
            await handler(r, w, count)

        server = await asyncio.start_server(on_conn, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        pool = Pool(f"http://127.0.0.1:{port}", 4)
        outs = []
        for _ in range(n_requests):
            outs.append(await send(pool, "/v1/completions", body("m", ["hi"], 3, False), False, timeout_s))
            await asyncio.sleep(gap_s)
        await pool.aclose()
        server.close()
        return outs

    return asyncio.run(main())


def test_chunked_stream_split_anywhere_is_read_whole():
    async def handler(r, w, _):
        await _request(r)
        w.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
        for i in range(0, len(STREAM), 7):  # 7-byte chunks cut lines and events anywhere; one with an extension
            piece = STREAM[i: i + 7]
            w.write(b"%x;ext=1\r\n%s\r\n" % (len(piece), piece))
        w.write(b"0\r\n\r\n")
        await w.drain()
        w.close()

    (o,) = _run(handler, 1)
    assert o.error is None and o.status == 200 and o.text == "abc" and o.finish_reason == "length"
    assert o.usage == {"prompt_tokens": 5, "completion_tokens": 3} and len(o.chunks) == 2 and o.first is not None


def test_a_kept_alive_connection_the_server_closed_is_replaced():
    async def handler(r, w, _):  # answers one request per connection, then closes it without saying so
        await _request(r)
        w.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(STREAM), STREAM))
        await w.drain()
        w.close()

    outs = _run(handler, 3)
    assert [o.error for o in outs] == [None, None, None] and all(o.text == "abc" for o in outs)


def test_a_connection_closed_while_idle_is_replaced_not_waited_on():
    async def handler(r, w, _):  # as a server dropping idle keep-alive connections: the close lands between requests
        await _request(r)
        w.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(STREAM), STREAM))
        await w.drain()
        w.close()

    outs = _run(handler, 3, timeout_s=2.0, gap_s=0.1)
    assert [o.error for o in outs] == [None, None, None] and all(o.text == "abc" for o in outs)


def test_faults_get_their_error_class():
    async def cut(r, w, _):
        await _request(r)
        w.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n%x\r\n%s\r\n" % (10, STREAM[:10]))
        await w.drain()
        w.close()

    async def unavailable(r, w, _):
        await _request(r)
        w.write(b'HTTP/1.1 503 Service Unavailable\r\ncontent-length: 2\r\n\r\n{}')
        await w.drain()

    async def silent(r, w, _):
        await _request(r)
        await asyncio.sleep(2)

    async def clean_but_short(r, w, _):  # a complete body that ends before [DONE] or a finish reason
        await _request(r)
        part = STREAM.split(b"\n\n")[0] + b"\n\n"
        w.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(part), part))
        await w.drain()

    assert _run(cut, 1)[0].error == "reset"
    o = _run(unavailable, 1)[0]
    assert o.error == "http_5xx" and o.status == 503
    assert _run(silent, 1, timeout_s=0.2)[0].error == "timeout"
    assert _run(clean_but_short, 1)[0].error == "stream_cut"


def test_a_refused_connection_is_a_connect_error():
    async def main():
        return await send(Pool(f"http://127.0.0.1:{free_port()}", 1), "/v1/completions", {}, False, 5.0)

    assert asyncio.run(main()).error == "connect"
