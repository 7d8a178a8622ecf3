"""The Mooncake row rules, declared once.

:data:`FIELDS` says, for every contract field, what type and range its value has and on which rows it is
required, optional or forbidden. Everything that checks rows derives from it: the exact per-row checks
below (validator and arrivals adapter), the polars expressions of the fast path and the pandera schema
(:mod:`agenttrace_pipeline.trace.rules_polars`), and the polars dtypes (:mod:`agenttrace_pipeline.trace.dtypes`).

Rows come in three *places*: a single-turn row (no ``session_id``), a session's turn 0 (its first row) and
a later turn of a session.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final, Literal

from agenttrace_pipeline.trace.model import INPUT_FIELDS, MAX_HASH_ID, MAX_TIME_MS, MAX_TOKENS

Kind = Literal["count", "ms", "id", "flag", "text", "ids"]
Place = Literal["single", "turn0", "later"]
Need = Literal["required", "optional", "forbidden"]


@dataclass(frozen=True, slots=True)
class FieldRule:
    """One contract field: its value ``kind``, inclusive bounds, and what each place needs of it."""

    name: str
    kind: Kind
    lo: float
    hi: float
    single: Need
    turn0: Need
    later: Need

    def need(self, place: Place) -> Need:
        return getattr(self, place)


_R: Final[Need] = "required"
_O: Final[Need] = "optional"
_F: Final[Need] = "forbidden"
FIELDS: Final[dict[str, FieldRule]] = {f.name: f for f in (
    FieldRule("session_id", "text", 1, math.inf, _F, _R, _R),
    FieldRule("input_length", "count", 1, MAX_TOKENS, _R, _R, _R),
    FieldRule("output_length", "count", 1, MAX_TOKENS, _R, _R, _R),
    FieldRule("hash_ids", "ids", 0, MAX_HASH_ID, _O, _O, _O),
    FieldRule("timestamp", "ms", 0, MAX_TIME_MS, _O, _R, _F),
    FieldRule("delay", "ms", 0, MAX_TIME_MS, _F, _F, _R),
    FieldRule("group_id", "id", 0, MAX_HASH_ID, _F, _O, _F),
    FieldRule("is_restart", "flag", 0, 1, _F, _O, _F),
)}
# fields whose presence depends on the place (session_id defines the place; the lengths are checked by value)
PLACED: Final = tuple(f for f in FIELDS.values() if f.name not in ("session_id", "input_length", "output_length"))


def describe(v: object) -> str:
    """A short, human description of a JSON value for error messages."""
    if isinstance(v, str):
        return f"string {v[:40]!r}"
    if v is None:
        return "null"
    if isinstance(v, bool):
        return f"boolean {str(v).lower()}"
    if isinstance(v, float):
        return f"number {v!r}"
    if isinstance(v, list):
        return f"array of {len(v)}"
    if isinstance(v, dict):
        return "object"
    return f"{type(v).__name__} {v!r}"


def _is_int(v: object) -> bool:
    return type(v) is int  # bool is a subclass of int and is rejected on purpose


def value_problem(rule: FieldRule, v: Any) -> str | None:
    """Why ``v`` is not a valid value of ``rule``'s field (``None`` when it is). ``hash_ids`` elements are
    checked by :func:`bad_hash_id`."""
    kind = rule.kind
    if kind == "count":
        if not _is_int(v):
            return f"must be an integer, got {describe(v)}"
        return None if rule.lo <= v <= rule.hi else f"must be a positive token count <= {MAX_TOKENS}, got {v}"
    if kind == "ms":
        if not ((type(v) is int or type(v) is float) and math.isfinite(v)):
            return f"must be a finite number of milliseconds, got {describe(v)}"
        return None if rule.lo <= v <= rule.hi else f"must be >= 0 ms (and <= {MAX_TIME_MS:.0e}), got {v}"
    if kind == "id":
        return None if _is_int(v) and rule.lo <= v <= rule.hi else f"must be a non-negative integer, got {describe(v)}"
    if kind == "flag":
        return None if type(v) is bool else f"must be true or false, got {describe(v)}"
    if kind == "text":
        return None if isinstance(v, str) and v else f"must be a non-empty string, got {describe(v)}"
    return None if type(v) is list else f"must be a list of integers, got {describe(v)}"


def bad_hash_id(ids: list) -> str | None:
    """The first element of ``ids`` that is not a hash id, described (``None`` when all are)."""
    for i, h in enumerate(ids):
        if not (_is_int(h) and 0 <= h <= MAX_HASH_ID):
            return f"element {i} must be a non-negative 64-bit integer, got {describe(h)}"
    return None


def input_problems(r: dict[str, Any], require_token_counts: bool) -> list[tuple[str, str]]:
    """Which input a row carries: exactly one of :data:`INPUT_FIELDS` (AIPerf's rule); with
    ``require_token_counts`` only ``input_length`` (the trace table stores token counts, not text)."""
    inputs = [k for k in INPUT_FIELDS if k in r]
    out = []
    if len(inputs) != 1:
        out.append(("input_length", "a row needs exactly one of input_length, text_input, messages, payload"
                    + (f" (found {', '.join(inputs)})" if inputs else " (found none)")))
    if require_token_counts:
        out += [(k, f"a {k} row has no token counts: the trace table stores input_length rows only "
                    "(AIPerf can replay it, but it cannot be ingested)") for k in inputs if k != "input_length"]
    if "input_length" in r and "output_length" not in r:
        out.append(("output_length", "missing (required with input_length)"))
    return out


def value_problems(r: dict[str, Any], skip: tuple[str, ...] = ("session_id",)) -> list[tuple[str, str]]:
    """``(field, reason)`` for every present contract field (but ``skip``) whose value breaks its type or range."""
    out = []
    for name, rule in FIELDS.items():
        if name in r and name not in skip:
            why = value_problem(rule, r[name])
            if why is None and name == "hash_ids":
                why = bad_hash_id(r[name])
            if why is not None:
                out.append((name, why))
    return out


_NEEDS: Final = {place: (tuple(f.name for f in PLACED if f.need(place) == "required"),
                         tuple(f.name for f in PLACED if f.need(place) == "forbidden"))
                 for place in ("single", "turn0", "later")}


def placement_problems(r: dict[str, Any], place: Place, sid: str = "", turn0_line: int = 0) -> list[tuple[str, str]]:
    """``(field, reason)`` for fields missing where required or present where forbidden at ``place``."""
    required, forbidden = _NEEDS[place]
    out = []
    for name in required:
        if name not in r:
            out.append((name, "missing on the session's turn 0 (first row)" if place == "turn0" else
                        f"missing on a later turn of session {sid!r} (turn 0 at line {turn0_line})"))
    for name in forbidden:
        if name in r:
            out.append((name, _forbidden(place, sid, turn0_line)))
    return out


def _forbidden(place: Place, sid: str, turn0_line: int) -> str:
    if place == "single":
        return "only allowed on a multi-turn row that has a session_id"
    if place == "turn0":
        return "not allowed on a session's turn 0 (use timestamp)"
    return f"only allowed on a session's turn 0 (turn 0 of {sid!r} is line {turn0_line})"
