"""JSON parsing that rejects duplicate object keys.

JSON leaves duplicate keys undefined: orjson keeps the last one, other readers keep the first, so the same
line could mean two things to two tools. Every reader in the project parses through :func:`loads`, which
is orjson's speed on well-formed input: a cheap count of ``"…":`` key tokens in the raw text is compared with
the keys orjson produced, and only when they differ (a duplicate, or a string value that contains ``":``) is
the text parsed again key by key to find the culprit.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

JSONDecodeError = orjson.JSONDecodeError
_KEY_TOKEN = re.compile(rb'"\s*:')
# every string literal, and whether a colon follows it (a key): strings never nest, so a left-to-right scan
# of the literals sees keys exactly, whatever '":' text the values hold
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"(\s*:)?')


class DuplicateKeyError(ValueError):
    """An object repeats a key; ``key`` and ``path`` (e.g. ``$.usage``) name it."""

    def __init__(self, key: str, path: str) -> None:
        self.key, self.path = key, path
        where = "" if path == "$" else f" in {path}"
        super().__init__(f"duplicate key {key!r}{where}")


def _count_keys(obj: Any) -> int:
    n = 0
    stack = [obj]
    while stack:
        o = stack.pop()
        if isinstance(o, dict):
            n += len(o)
            stack.extend(v for v in o.values() if isinstance(v, (dict, list)))
        elif isinstance(o, list):
            stack.extend(v for v in o if isinstance(v, (dict, list)))
    return n


def _key_tokens(data: bytes) -> int:
    """How many ``"`` followed by optional whitespace and ``:`` the text holds (every key has one)."""
    if b'" ' in data or b'"\t' in data or b'"\n' in data or b'"\r' in data:
        return len(_KEY_TOKEN.findall(data))
    return data.count(b'":')


def _exact_key_count(data: bytes) -> int:
    found = _STRING.findall(data)  # the colon group of each literal: b"" unless the literal is a key
    return len(found) - found.count(b"")


def _find_duplicate(raw: bytes | str) -> None:
    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        for k, v in pairs:
            if k in seen:
                raise DuplicateKeyError(k, "$")
            seen[k] = v
        return seen

    json.loads(raw, object_pairs_hook=hook)


def loads(raw: bytes | bytearray | memoryview | str) -> Any:
    """Parse one JSON document like ``orjson.loads``; raise :class:`DuplicateKeyError` for a repeated key.

    Raises ``orjson.JSONDecodeError`` (a ``ValueError``) for invalid JSON.
    """
    obj = orjson.loads(raw)
    if isinstance(obj, (dict, list)):
        data = raw.encode() if isinstance(raw, str) else bytes(raw)
        # key tokens in the text >= keys in the text >= keys parsed: equality means no key was repeated
        tokens = _key_tokens(data)
        if isinstance(obj, dict) and tokens == len(obj):
            return obj
        keys = _count_keys(obj)
        if tokens != keys and _exact_key_count(data) != keys:
            _find_duplicate(data)
    return obj
