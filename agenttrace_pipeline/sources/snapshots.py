"""Streaming usage snapshots: turns whose logged usage was taken mid-stream, and an estimate of their output.

Some agents log the usage of a streaming snapshot instead of the final message: ``stop_reason`` is null on
every line of the call, and ``output_tokens`` is 1–4 while the message content runs to hundreds of
characters. Fitted as they are, such counts give a profile whose median output is 2 tokens.

The rule, applied per (source, model) by :func:`mark`:

1. **Candidates** are the turns that have content and none of whose lines carried a ``stop_reason``.
2. **Detection.** If, over a (source, model)'s candidates, content characters per logged output token exceed
   ``SNAPSHOT_CHARS_PER_TOKEN`` = 8, that model's log holds snapshots: tokenizers produce about 3–5
   characters per token of text or code, so more than 8 cannot be a final count. Every candidate whose own
   ratio also exceeds 8 is marked ``usage_snapshot = True`` and counted in ``snapshot_turns``; a candidate
   whose logged count is plausible keeps it.
3. **Estimate.** A marked turn's ``completion_tokens`` becomes ``max(logged, ceil(chars / 3.5))``:
   ``CHARS_PER_TOKEN`` = 3.5 is Anthropic's published average for English text and close to what BPE
   tokenizers give for code. The next turn's new input (prompt − previous prompt − previous completion) uses
   this estimate. Output-length fits leave marked turns out.

Content characters are the characters of ``text`` and ``thinking`` blocks plus the compact JSON of
``tool_use`` inputs (a string content counts whole). Thinking that a log redacts (empty text) is not
counted, so the estimate is a lower bound.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import orjson

from agenttrace_pipeline.sources.canonical import Parsed

SNAPSHOT_CHARS_PER_TOKEN = 8.0
CHARS_PER_TOKEN = 3.5


def content_chars(content: Any) -> int:
    """Characters of a message's content: text, thinking, and the JSON of tool inputs."""
    if isinstance(content, str):
        return len(content)
    if not isinstance(content, list):
        return 0
    n = 0
    for block in content:
        if not isinstance(block, dict):
            continue
        for key in ("text", "thinking"):
            if isinstance(block.get(key), str):
                n += len(block[key])
        if block.get("type") == "tool_use" and block.get("input") is not None:
            n += len(orjson.dumps(block["input"]))
    return n


def estimate(chars: int) -> int:
    """Output tokens estimated from content characters (see the module docstring)."""
    return math.ceil(chars / CHARS_PER_TOKEN)


def mark(parsed: Parsed) -> None:
    """Mark the streaming-snapshot turns of ``parsed`` and replace their completion by the estimate.

    Turns carry private ``_chars`` (content characters) and ``_stopped`` (a stop reason was seen); these and
    every other ``_``-prefixed helper key are removed from all turns.
    """
    candidates: dict[str | None, list[dict[str, Any]]] = defaultdict(list)
    for t in parsed.turns:
        if t.get("_chars") and not t.get("_stopped", True):
            candidates[t["model"]].append(t)
    for turns in candidates.values():
        chars = sum(t["_chars"] for t in turns)
        logged = sum(t["completion_tokens"] or 0 for t in turns)
        if chars <= SNAPSHOT_CHARS_PER_TOKEN * max(logged, 1):
            continue
        for t in turns:
            if t["_chars"] > SNAPSHOT_CHARS_PER_TOKEN * max(t["completion_tokens"] or 0, 1):
                t["usage_snapshot"] = True
                t["completion_tokens"] = max(t["completion_tokens"] or 0, estimate(t["_chars"]))
                parsed.snapshot_turns += 1
    for i, t in enumerate(parsed.turns):
        if any(k.startswith("_") for k in t):
            parsed.turns[i] = {k: v for k, v in t.items() if not k.startswith("_")}
