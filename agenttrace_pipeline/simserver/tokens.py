"""The simulated engine's token rule, block hashes and reply text.

Token rule: **one token per byte** of the UTF-8 prompt (a byte-level tokenizer with no merges, like the tiny
model of REFERENCE §4). Chat requests are tokenised as the concatenation of their messages' text contents,
with no template, so a chat prompt and the completions prompt with the same text make the same tokens. The
replayer's text synthesis (:mod:`agenttrace_pipeline.replay.prompts`) writes ASCII only, so a block of
``b`` tokens is ``b`` characters and the rule inverts it exactly.

Blocks: the token stream is cut into full blocks of ``block_tokens``; block ``i`` is named by a hash chained
over block ``i-1``'s name and its own bytes (vLLM's prefix-cache naming), so equal names mean equal prefixes.

Replies are ASCII too, one character per generated token, drawn from a hash of the server's seed and the
request number: every reply is distinct, as the offline simulation assumes, and costs no randomness state.
"""

from __future__ import annotations

import hashlib

ALPHABET = b"abcdefghijklmnopqrstuvwxyz     ,."
# byte -> printable ASCII: maps hash output onto the alphabet with bytes.translate (fast, no Python loop)
TABLE = bytes(ALPHABET[i % len(ALPHABET)] for i in range(256))
ROOT = 0x5EED


def tokenize(text: str) -> bytes:
    """The token ids of ``text``: its UTF-8 bytes."""
    return text.encode()


def chat_text(messages: object) -> str:
    """The text a chat request is tokenised from: message contents joined, no template.

    Raises ValueError naming the field when ``messages`` is not a list of {role, content} objects."""
    if not isinstance(messages, list) or not messages:
        raise ValueError("messages: must be a non-empty list")
    parts = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict):
            raise ValueError(f"messages[{i}]: must be an object")
        c = m.get("content")
        if isinstance(c, list):  # content parts: keep the text ones
            c = "".join(p.get("text", "") for p in c if isinstance(p, dict))
        if c is None:
            c = ""
        if not isinstance(c, str):
            raise ValueError(f"messages[{i}].content: must be a string or a list of text parts")
        parts.append(c)
    return "".join(parts)


def block_hashes(tokens: bytes, block_tokens: int, start: int = 0, parent: int = ROOT) -> list[int]:
    """Chained names of the full blocks of ``tokens`` from block ``start`` on (``parent`` = name of the one before)."""
    out = []
    h = parent
    for i in range(start * block_tokens, len(tokens) - block_tokens + 1, block_tokens):
        h = hash((h, tokens[i: i + block_tokens]))
        out.append(h)
    return out


def reply_text(seed: int, request: int, n_tokens: int) -> str:
    """``n_tokens`` ASCII characters, distinct per (seed, request)."""
    raw = hashlib.shake_128(f"reply:{seed}:{request}".encode()).digest(max(n_tokens, 1))
    return raw[:n_tokens].translate(TABLE).decode()
