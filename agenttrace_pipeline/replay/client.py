"""One request to an OpenAI-compatible server, streamed, measured from send to last byte (over :mod:`.http1`).

Error classes: ``http_429``, ``http_4xx``, ``http_5xx`` (by status), ``connect`` (refused or unreachable),
``reset`` (the connection dropped mid-way), ``timeout``, ``stream_cut`` (the stream ended without
``[DONE]`` or finish_reason), ``bad_response`` (unparseable body).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import orjson

from agenttrace_pipeline.replay.http1 import ConnectFailed, Pool


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


class _Events:
    """Splits a streamed body into SSE ``data:`` lines as its pieces arrive (each stamped on arrival)."""

    def __init__(self, o: Outcome, chat: bool) -> None:
        self.o, self.chat, self.rest, self.done = o, chat, b"", False

    def feed(self, piece: bytes) -> None:
        now = time.perf_counter()
        lines = (self.rest + piece).split(b"\n")
        self.rest = lines.pop()
        for line in lines:
            if line.startswith(b"data:") and not self.done:
                self.done = _event(self.o, line[5:].strip(), self.chat, now)


async def send(pool: Pool, path: str, payload: dict[str, Any], chat: bool, timeout_s: float = 600.0) -> Outcome:
    """POST ``payload`` to ``path`` and read its SSE stream; never raises for server or network faults."""
    o = Outcome()
    ev = _Events(o, chat)
    o.sent = time.perf_counter()
    try:
        async with asyncio.timeout(timeout_s):
            res = await pool.post(path, orjson.dumps(payload), ev.feed)
        o.status = res.status
        if res.status != 200:
            o.error = "http_429" if res.status == 429 else f"http_{res.status // 100}xx"
    except TimeoutError:
        o.error = "timeout"
    except ConnectFailed:
        o.error = "connect"
    except ConnectionError:  # Dropped included
        o.error = "reset"
    except ValueError:  # orjson.JSONDecodeError included
        o.error = "bad_response"
    finally:
        o.end = time.perf_counter()
    if o.error is None and not ev.done and o.finish_reason is None:
        o.error = "stream_cut"
    return o
