"""OpenAI-compatible request parsing and response bodies for the simulated engine (completions and chat)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from agenttrace_pipeline.simserver.tokens import chat_text


class BadRequest(ValueError):
    """A request the server answers with 400; the message names the field."""


@dataclass(frozen=True)
class Parsed:
    chat: bool
    text: str
    max_tokens: int
    stream: bool
    include_usage: bool
    model: str


def parse(body: bytes, chat: bool, served: str, max_model_len: int) -> Parsed:
    """Validate a request body; raises :class:`BadRequest` naming the field that is wrong."""
    try:
        req = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"body: not JSON ({exc})") from None
    if not isinstance(req, dict):
        raise BadRequest("body: must be a JSON object")
    model = req.get("model", served)
    if model != served:
        raise BadRequest(f"model: {model!r} is not served here (serving {served!r})")
    if chat:
        try:
            text = chat_text(req.get("messages"))
        except ValueError as exc:
            raise BadRequest(str(exc)) from None
    else:
        prompt = req.get("prompt")
        if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], str):
            prompt = prompt[0]
        if not isinstance(prompt, str):
            raise BadRequest("prompt: must be a string (or a list of one string)")
        text = prompt
    mt = req.get("max_completion_tokens") if chat and req.get("max_completion_tokens") is not None else req.get("max_tokens")
    mt = 16 if mt is None else mt
    if not isinstance(mt, int) or isinstance(mt, bool) or mt < 1:
        raise BadRequest(f"max_tokens: must be an integer >= 1, got {mt!r}")
    if req.get("n", 1) != 1:
        raise BadRequest("n: only 1 is supported")
    n_prompt = len(text.encode())
    if n_prompt + mt > max_model_len:
        raise BadRequest(f"prompt ({n_prompt} tokens) + max_tokens ({mt}) exceeds max_model_len {max_model_len}")
    opts = req.get("stream_options") or {}
    return Parsed(chat, text, mt, bool(req.get("stream", False)), bool(opts.get("include_usage", False)), served)


def usage(prompt: int, completion: int, cached: int) -> dict[str, Any]:
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": cached}}


def chunk(p: Parsed, rid: str, created: int, text: str, finish: str | None, first: bool) -> bytes:
    """One SSE event carrying ``text``."""
    if p.chat:
        delta: dict[str, Any] = {"role": "assistant", "content": text} if first else {"content": text}
        choice: dict[str, Any] = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        obj = "chat.completion.chunk"
    else:
        choice = {"index": 0, "text": text, "logprobs": None, "finish_reason": finish}
        obj = "text_completion"
    return b"data: " + orjson.dumps({"id": rid, "object": obj, "created": created, "model": p.model,
                                     "choices": [choice]}) + b"\n\n"


class Chunker:
    """The SSE events of one streamed response, byte for byte those of :func:`chunk`, from per-response templates.

    Only the token text changes from one event to the next, so each (finish, first) shape is rendered once with
    a marker in place of the text and split around it; an event is then head + JSON string + tail."""

    _MARK = "\u2063agenttrace-text\u2063"

    def __init__(self, p: Parsed, rid: str, created: int) -> None:
        self.p, self.rid, self.created = p, rid, created
        self._parts: dict[tuple[str | None, bool], tuple[bytes, bytes] | None] = {}

    def event(self, text: str, finish: str | None, first: bool) -> bytes:
        key = (finish, first)
        if key not in self._parts:
            self._parts[key] = self._split(finish, first)
        parts = self._parts[key]
        if parts is None:  # the marker also occurs in the id or model name: render in full
            return chunk(self.p, self.rid, self.created, text, finish, first)
        return parts[0] + orjson.dumps(text) + parts[1]

    def _split(self, finish: str | None, first: bool) -> tuple[bytes, bytes] | None:
        mark = orjson.dumps(self._MARK)
        whole = chunk(self.p, self.rid, self.created, self._MARK, finish, first)
        if whole.count(mark) != 1:
            return None
        head, tail = whole.split(mark)
        return head, tail


def usage_chunk(p: Parsed, rid: str, created: int, u: dict[str, Any]) -> bytes:
    obj = "chat.completion.chunk" if p.chat else "text_completion"
    return b"data: " + orjson.dumps({"id": rid, "object": obj, "created": created, "model": p.model,
                                     "choices": [], "usage": u}) + b"\n\n"


def full(p: Parsed, rid: str, created: int, text: str, finish: str, u: dict[str, Any]) -> bytes:
    """A whole (non-streamed) response body."""
    if p.chat:
        choice: dict[str, Any] = {"index": 0, "message": {"role": "assistant", "content": text},
                                  "logprobs": None, "finish_reason": finish}
        obj = "chat.completion"
    else:
        choice = {"index": 0, "text": text, "logprobs": None, "finish_reason": finish}
        obj = "text_completion"
    return orjson.dumps({"id": rid, "object": obj, "created": created, "model": p.model, "choices": [choice],
                         "usage": u})


def error(message: str, kind: str, code: int) -> bytes:
    return orjson.dumps({"error": {"message": message, "type": kind, "code": code}, "object": "error"})
