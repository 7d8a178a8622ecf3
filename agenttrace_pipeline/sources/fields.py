"""Typed, path-aware access to the fields of one JSON record.

Adapters read every field through a :class:`Node`, so a record whose field has the wrong type (``usage`` as a
string, ``tools`` as an integer), an impossible timestamp (``1e300``) or a token count no table can hold
(``2**64-1``) raises :class:`RecordError` naming the field by its path (``messages[3].extra.response.usage``);
the adapter quarantines that record and keeps the valid records beside it.

Conventions: an absent field and JSON ``null`` both read as ``None``; a dotted name (``usage.prompt_tokens``)
walks through objects; several names are tried in order and the first one present wins.
"""

from __future__ import annotations

import builtins
import math
from datetime import UTC, datetime, timedelta
from typing import Any

# Token counts above 2**53 are not exact in float64 and far beyond any real context; they are corrupt.
MAX_TOKENS = 2**53
MAX_INT64 = 2**63 - 1
_JSON_KINDS = ((bool, "a boolean"), (str, "a string"), (int, "a number"), (float, "a number"),
               (list, "a list"), (dict, "an object"))


class RecordError(ValueError):
    """A field of a record that cannot be used: ``field`` is its path, ``reason`` says why."""

    def __init__(self, field: str, reason: str) -> None:
        self.field, self.reason = field, reason
        super().__init__(f"{field}: {reason}" if field else reason)


def kind(value: Any) -> str:
    """The JSON kind of ``value`` in words ("a string", "a list", …) for error messages."""
    return next((name for t, name in _JSON_KINDS if isinstance(value, t)), type(value).__name__)


def join(path: str, name: str | int) -> str:
    if isinstance(name, int):
        return f"{path}[{name}]"
    return f"{path}.{name}" if path else name


def to_tokens(value: Any, field: str) -> int | None:
    """A token count: an integer (or integral float) in ``[0, 2**53]``, or None when absent."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RecordError(field, f"expected a token count, got {kind(value)} {_short(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise RecordError(field, f"expected a token count, got {value!r}")
    if value < 0:
        raise RecordError(field, f"negative token count {value}")
    if value > MAX_TOKENS:
        raise RecordError(field, f"token count {value} is above 2**53: not a real count")
    return int(value)


def to_int(value: Any, field: str, lo: int = -MAX_INT64, hi: int = MAX_INT64) -> int | None:
    """An integer in ``[lo, hi]`` (exit codes, byte counts; a float is truncated), or None when absent."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (isinstance(value, float) and not math.isfinite(value)):
        raise RecordError(field, f"expected an integer, got {kind(value)} {_short(value)}")
    if not lo <= value <= hi:
        raise RecordError(field, f"{value} is outside [{lo}, {hi}]")
    return int(value)


def to_number(value: Any, field: str) -> float | None:
    """A finite number (durations, seconds), or None when absent."""
    if value is None:
        return None
    return _finite(value, field)


def _finite(value: Any, field: str) -> float:
    """``value`` as a float when it is a finite JSON number; otherwise a :class:`RecordError` naming ``field``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise RecordError(field, f"expected a finite number, got {kind(value)} {_short(value)}")
    return float(value)


def to_time(value: Any, field: str) -> datetime | None:
    """ISO-8601 text (naive means UTC) or unix seconds (milliseconds when above 1e11) → aware UTC datetime;
    None when absent or empty."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise RecordError(field, f"unparsable timestamp {_short(value)}") from None
        return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RecordError(field, f"expected a timestamp (ISO-8601 text or unix seconds), got {kind(value)} {_short(value)}")
    v = _finite(value, field)
    try:
        return datetime.fromtimestamp(v / 1000 if v > 1e11 else v, UTC)
    except (OverflowError, OSError, ValueError):
        raise RecordError(field, f"timestamp {value!r} is out of range") from None


def shift(t: datetime | None, ms: float | None, field: str) -> datetime | None:
    """``t`` moved by ``ms`` milliseconds (None if either is None); a shift out of range names ``field``."""
    if t is None or ms is None:
        return None
    try:
        return t + timedelta(milliseconds=ms)
    except OverflowError:
        raise RecordError(field, f"{ms} ms is out of range") from None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class Node:
    """One JSON object of a record, with its path from the record's root (``""`` for the root)."""

    __slots__ = ("data", "path")

    def __init__(self, data: Any, path: str = "") -> None:
        if not isinstance(data, dict):
            raise RecordError(path, f"expected an object, got {kind(data)}")
        self.data: dict[str, Any] = data
        self.path = path

    def lookup(self, *names: str) -> tuple[str, Any]:
        """``(path, value)`` of the first name present and not null (dotted names walk objects)."""
        for name in names:
            head, _, tail = name.partition(".")
            value = self.data.get(head)
            if value is None:
                continue
            if not tail:
                return join(self.path, head), value
            found = Node(value, join(self.path, head)).lookup(tail)
            if found[1] is not None:
                return found
        return join(self.path, names[0]), None

    def raw(self, *names: str) -> Any:
        return self.lookup(*names)[1]

    def has(self, name: str) -> bool:
        return self.data.get(name) is not None

    def node(self, *names: str) -> Node | None:
        path, value = self.lookup(*names)
        return None if value is None else Node(value, path)

    def node_or_empty(self, *names: str) -> Node:
        return self.node(*names) or Node({}, join(self.path, names[0]))

    def list(self, *names: str) -> list[Any]:
        """A list field; ``[]`` when absent."""
        path, value = self.lookup(*names)
        if value is None:
            return []
        if not isinstance(value, list):
            raise RecordError(path, f"expected a list, got {kind(value)}")
        return value

    # ``builtins.list``: inside this class ``list`` names the method above
    def nodes(self, *names: str) -> builtins.list[Node]:
        """A list of objects; ``[]`` when absent."""
        path, _ = self.lookup(*names)
        return [Node(v, join(path, i)) for i, v in enumerate(self.list(*names))]

    def text(self, *names: str) -> str | None:
        path, value = self.lookup(*names)
        if value is None or isinstance(value, str):
            return value
        raise RecordError(path, f"expected a string, got {kind(value)}")

    def ident(self, *names: str) -> str | None:
        """An identifier: a string or an integer, as text."""
        path, value = self.lookup(*names)
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        raise RecordError(path, f"expected an identifier (string), got {kind(value)}")

    def flag(self, *names: str) -> bool:
        path, value = self.lookup(*names)
        if value is None or isinstance(value, bool):
            return bool(value)
        raise RecordError(path, f"expected true or false, got {kind(value)}")

    def tokens(self, *names: str) -> int | None:
        path, value = self.lookup(*names)
        return to_tokens(value, path)

    def integer(self, *names: str, lo: int = -MAX_INT64, hi: int = MAX_INT64) -> int | None:
        path, value = self.lookup(*names)
        return to_int(value, path, lo, hi)

    def number(self, *names: str) -> float | None:
        path, value = self.lookup(*names)
        return to_number(value, path)

    def time(self, *names: str) -> datetime | None:
        path, value = self.lookup(*names)
        return to_time(value, path)
