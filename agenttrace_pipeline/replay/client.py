"""One request to an OpenAI-compatible server, streamed, measured from send to last byte.

Error classes: ``http_429``, ``http_4xx``, ``http_5xx`` (by status), ``connect`` (refused or unreachable),
``reset`` (the connection dropped mid-way), ``timeout``, ``stream_cut`` (the stream ended without
``[DONE]`` or finish_reason), ``bad_response`` (unparseable body).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson


@dataclass
class Outcome:
    """What one request got back; times are perf_counter seconds."""

    sent: float = 0.0
    first: float | None = None
    end: float = 0.0
    chunks: list[float] = field(default_factory=list)
    text: str = ""
    usage: dict[str, Any] | None = None
    finish_reason: str | None = None
    status: int = 0
    error: str | None = None


def body(model: str, prompt: list[str], max_tokens: int, chat: bool) -> dict[str, Any]:
    """The request body; ``prompt`` alternates user and assistant text for chat (turn 0 first)."""
    b: dict[str, Any] = {"model": model, "max_tokens": max_tokens, "stream": True, "ignore_eos": True,
                         "stream_options": {"include_usage": True}, "temperature": 0.0}
    if chat:
        b["messages"] = [{"role": "user" if i % 2 == 0 else "assistant", "content": t} for i, t in enumerate(prompt)]
    else:
        b["prompt"] = "".join(prompt)
    return b


def _classify(exc: Exception) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    if isinstance(exc, httpx.ConnectError):
        return "connect"
    if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)):
        return "reset"
    return "bad_response"


def _event(o: Outcome, data: bytes, chat: bool, now: float) -> bool:
    """Apply one SSE data payload; True at ``[DONE]``."""
    if data == b"[DONE]":
        return True
    ev = orjson.loads(data)
    if ev.get("usage"):
        o.usage = ev["usage"]
    for ch in ev.get("choices") or ():
        piece = (ch.get("delta") or {}).get("content") if chat else ch.get("text")
        if piece:
            if o.first is None:
                o.first = now
            o.chunks.append(now)
            o.text += piece
        if ch.get("finish_reason"):
            o.finish_reason = ch["finish_reason"]
    return False


async def send(client: httpx.AsyncClient, path: str, payload: dict[str, Any], chat: bool) -> Outcome:
    """POST ``payload`` to ``path`` and read its SSE stream; never raises for server or network faults."""
    o = Outcome()
    done = False
    o.sent = time.perf_counter()
    try:
        async with client.stream("POST", path, content=orjson.dumps(payload),
                                 headers={"content-type": "application/json"}) as r:
            o.status = r.status_code
            if r.status_code != 200:
                await r.aread()
                o.error = "http_429" if r.status_code == 429 else f"http_{r.status_code // 100}xx"
                return o
            async for line in r.aiter_lines():
                if line.startswith("data:"):
                    done = _event(o, line[5:].strip().encode(), chat, time.perf_counter())
                    if done:
                        break
    except (httpx.HTTPError, orjson.JSONDecodeError) as exc:
        o.error = _classify(exc)
    finally:
        o.end = time.perf_counter()
    if o.error is None and not done and o.finish_reason is None:
        o.error = "stream_cut"
    return o
