"""The simulated engine as a raw ASGI app: OpenAI-compatible endpoints over one :class:`Engine`.

Routes: ``POST /v1/completions``, ``POST /v1/chat/completions`` (streamed as SSE or not), ``GET /v1/models``,
``GET /health``, ``GET /metrics`` (vLLM's current metric names), ``POST /reset_prefix_cache`` (vLLM's
flush; refused with 409 while requests are in flight). Without a framework a streamed token costs one
``send``: the engine loop pushes each iteration's tokens to the request's channel and its handler writes them
(several iterations' events in one write when they piled up; the last event with the usage chunk and ``[DONE]``).

Faults (for tests): each request independently fails with 500 (``error_rate``), waits ``spike_ms`` before
it is queued (``spike_rate``), or has its stream cut half-way, without the final chunk or ``[DONE]``
(``cut_rate``; a non-streamed response is then cut to half its body).
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

import orjson

from agenttrace_pipeline.simserver import openai_fmt as fmt
from agenttrace_pipeline.simserver.clock import EngineLoop
from agenttrace_pipeline.simserver.config import SimConfig
from agenttrace_pipeline.simserver.engine import QueueFull, Seq
from agenttrace_pipeline.simserver.metrics import exposition
from agenttrace_pipeline.simserver.tokens import reply_text, tokenize

JSON = [(b"content-type", b"application/json")]
SSE = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]


class SimApp:
    """ASGI application; the engine loop starts with the first request (or the lifespan start-up)."""

    def __init__(self, config: SimConfig | None = None) -> None:
        self.config = config or SimConfig()
        self.loop = EngineLoop(self.config)
        self._rng = random.Random(self.config.seed)
        self._n = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                msg = await receive()
                if msg["type"] == "lifespan.startup":
                    self.loop.start()
                    await send({"type": "lifespan.startup.complete"})
                elif msg["type"] == "lifespan.shutdown":
                    await self.loop.stop()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        self.loop.start()
        path, method = scope["path"], scope["method"]
        if method == "GET" and path == "/health":
            return await _reply(send, 200, b"", [])
        if method == "GET" and path == "/v1/models":
            body = orjson.dumps({"object": "list", "data": [{"id": self.config.model, "object": "model",
                                 "created": 0, "owned_by": "agenttrace-sim", "max_model_len": self.config.max_model_len}]})
            return await _reply(send, 200, body, JSON)
        if method == "GET" and path == "/metrics":
            return await _reply(send, 200, exposition(self.loop.engine, self.config.model).encode(),
                                [(b"content-type", b"text/plain; version=0.0.4")])
        if method == "POST" and path == "/reset_prefix_cache":
            ok = self.loop.reset()
            return await _reply(send, 200 if ok else 409, b"" if ok else fmt.error("requests in flight", "Conflict", 409), JSON)
        if method == "POST" and path in ("/v1/completions", "/v1/chat/completions"):
            return await self._generate(scope, receive, send, path.endswith("chat/completions"))
        await _reply(send, 404, fmt.error(f"no route {method} {path}", "NotFound", 404), JSON)

    async def _generate(self, scope: dict[str, Any], receive: Any, send: Any, chat: bool) -> None:
        body = await _body(receive, self.config.max_request_bytes)
        if body is None:
            return await _reply(send, 413, fmt.error(f"request body over {self.config.max_request_bytes} bytes",
                                                     "RequestTooLarge", 413), JSON)
        try:
            p = fmt.parse(body, chat, self.config.model, self.config.max_model_len)
        except fmt.BadRequest as exc:
            return await _reply(send, 400, fmt.error(str(exc), "BadRequestError", 400), JSON)
        cfg, rng = self.config, self._rng
        if cfg.error_rate and rng.random() < cfg.error_rate:
            return await _reply(send, 500, fmt.error("injected fault", "InternalServerError", 500), JSON)
        if cfg.spike_rate and rng.random() < cfg.spike_rate:
            await asyncio.sleep(cfg.spike_ms / 1000)
        cut = bool(cfg.cut_rate) and rng.random() < cfg.cut_rate
        pre = self.loop.engine.cost.request_ms * cfg.time_scale  # the request's time before the scheduler
        if pre > 0:
            await asyncio.sleep(pre / 1000)
        self._n += 1
        ch = _Channel()
        seq = Seq(self._n, tokenize(p.text), p.max_tokens, reply_text(cfg.seed, self._n, p.max_tokens), sink=ch.push)
        try:
            self.loop.submit(seq)
        except QueueFull as exc:
            return await _reply(send, 429, fmt.error(f"queue full: {exc}", "TooManyRequests", 429), JSON)
        rid = f"{'chatcmpl' if chat else 'cmpl'}-{self._n}"
        try:
            if p.stream:
                await self._stream(send, p, seq, ch, rid, cut)
            else:
                await self._whole(send, p, seq, ch, rid, cut)
        finally:
            if seq.generated < seq.max_tokens:  # client gone or stream cut: free its blocks
                self.loop.abort(seq)

    async def _stream(self, send: Any, p: fmt.Parsed, seq: Seq, ch: _Channel, rid: str, cut: bool) -> None:
        """One SSE event per engine iteration that made tokens; events that piled up go out in one write, and
        the last one shares its write with the usage chunk, ``[DONE]`` and the end of the body."""
        await send({"type": "http.response.start", "status": 200, "headers": SSE})
        ev = fmt.Chunker(p, rid, int(time.time()))
        pos, done = 0, False
        stop = seq.max_tokens // 2 if cut else seq.max_tokens + 1
        while not done:
            out: list[bytes] = []
            for n, done in await ch.pull():
                if pos + n >= stop:  # injected cut: what came before, then the end of the body
                    await send({"type": "http.response.body", "body": b"".join(out), "more_body": False})
                    return
                out.append(ev.event(seq.reply[pos: pos + n], "length" if done else None, pos == 0))
                pos += n
            if not done:
                await send({"type": "http.response.body", "body": b"".join(out), "more_body": True})
        if p.include_usage:
            out.append(fmt.usage_chunk(p, rid, ev.created, fmt.usage(seq.n_prompt, seq.generated, seq.cached_tokens)))
        out.append(b"data: [DONE]\n\n")
        await send({"type": "http.response.body", "body": b"".join(out), "more_body": False})

    async def _whole(self, send: Any, p: fmt.Parsed, seq: Seq, ch: _Channel, rid: str, cut: bool) -> None:
        done = False
        while not done:
            done = (await ch.pull())[-1][1]
        body = fmt.full(p, rid, int(time.time()), seq.reply, "length",
                        fmt.usage(seq.n_prompt, seq.generated, seq.cached_tokens))
        if cut:
            body = body[: len(body) // 2]
        await _reply(send, 200, body, JSON)


class _Channel:
    """Engine iterations' (new tokens, finished) for one request handler: the engine pushes without waiting,
    the handler takes everything that piled up in one wake-up (lighter than an asyncio.Queue per token)."""

    __slots__ = ("items", "waiter")

    def __init__(self) -> None:
        self.items: list[tuple[int, bool]] = []
        self.waiter: asyncio.Future[None] | None = None

    def push(self, seq: Seq, n: int, end_ms: float, step_ms: float, done: bool) -> None:
        self.items.append((n, done))
        w = self.waiter
        if w is not None and not w.done():
            w.set_result(None)

    async def pull(self) -> list[tuple[int, bool]]:
        if not self.items:
            self.waiter = asyncio.get_running_loop().create_future()
            try:
                await self.waiter
            finally:
                self.waiter = None
        items, self.items = self.items, []
        return items


async def _body(receive: Any, limit: int) -> bytes | None:
    """The request body, or None once it passes ``limit`` bytes."""
    parts, size, more = [], 0, True
    while more:
        msg = await receive()
        if msg["type"] == "http.disconnect":
            return b""
        chunk = msg.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        parts.append(chunk)
        more = msg.get("more_body", False)
    return b"".join(parts)


async def _reply(send: Any, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
