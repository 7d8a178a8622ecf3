"""Readable config errors for every pydantic-modelled config file (generator configs, sources, reference
traces, endpoints): ``FILE:LINE: field.path: reason``, with a suggestion for a misspelt key."""

from __future__ import annotations

import difflib
import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside an annotation such as ``Reset | None`` or ``list[MixtureComponent]``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType, list, tuple):
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None


def known_fields(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Field names (and aliases) accepted at ``loc`` inside ``model``; empty when ``loc`` is not a model."""
    current: type[BaseModel] | None = model
    for part in loc:
        if current is None:
            return []
        if isinstance(part, int):
            continue
        field = current.model_fields.get(str(part))
        current = _model_in(field.annotation) if field is not None else None
    if current is None:
        return []
    names = list(current.model_fields)
    for field in current.model_fields.values():
        choices = getattr(field.validation_alias, "choices", None) or []
        names += [c for c in choices if isinstance(c, str) and c not in names]
    return names


def line_of(text: bytes | None, loc: tuple[Any, ...]) -> int | None:
    """The line of the JSON key that ``loc`` ends at, found by following its path through the text."""
    if not text:
        return None
    pos, found = 0, False
    for part in loc:
        if isinstance(part, int):
            continue
        at = text.find(b'"' + str(part).encode() + b'"', pos)
        if at < 0:
            break
        pos, found = at, True
    return text.count(b"\n", 0, pos) + 1 if found else None


def did_you_mean(key: str, known: list[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest known name, else ``""``."""
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _reason(err: ErrorDetails, model: type[BaseModel]) -> str:
    loc = tuple(err["loc"])
    if err["type"] == "extra_forbidden" and loc:
        key = str(loc[-1])
        known = known_fields(model, loc[:-1])
        hint = did_you_mean(key, known) or (f" (known fields: {', '.join(known)})" if known else "")
        return f"unknown field {key!r}{hint}"
    return err["msg"]


def describe_validation_error(source: str, exc: ValidationError, model: type[BaseModel], text: bytes | None = None) -> str:
    """One line per problem under a header naming ``source``."""
    lines = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        path = loc[:-1] if err["type"] == "extra_forbidden" else loc
        field = ".".join(str(x) for x in path) or "(config)"
        line = line_of(text, loc)
        where = f"{source}:{line}: " if line is not None else ""
        lines.append(f"  {where}{field}: {_reason(err, model)}")
    return f"{source}: invalid generator config\n" + "\n".join(lines)
