"""The source list: ``assets_config/sources.json`` and a user's own sources file, read as pydantic models.

File: ``{"$comment": …, "mode": "extend" | "replace", "sources": [entry, …]}``. An entry:

| field            | meaning                                                                                  |
|------------------|------------------------------------------------------------------------------------------|
| `name`           | letters, digits, `_`; unique; the asset is `<name>_raw`                                  |
| `format`         | one of :data:`~agenttrace_pipeline.sources.formats.FORMATS`                              |
| `locations`      | local paths, globs or http(s) URLs; `${shared_data}` and `${project}` are expanded; a    |
|                  | relative path is relative to the folder of the file that names it                        |
| `sha256`         | `{URL: hex digest}` checked after download                                               |
| `license`        | free text, shown in the asset description                                                |
| `optional`       | when the locations are absent or cannot be fetched, ingest `fallback` instead (warning)  |
| `fallback`       | the project's own small samples, same rules as `locations`                               |
| `context_window` | the model's context window in tokens (fitted profiles cap prompts there); null: unknown  |

Types are strict (``"optional": "yes"`` and ``"context_window": "200000"`` are errors) and unknown fields are
rejected with a suggestion; every error names the file and the field (``sources[2].context_window``).

A user's own file (``AGENTTRACE_SOURCES=FILE``; ``agenttrace run --sources FILE`` sets it) **extends** the
bundled list: an entry whose name is a bundled source's replaces that source, the others are added after
it. With ``"mode": "replace"`` at the top level the user's file **replaces** the bundled list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator, model_validator

from agenttrace_pipeline import settings, strict_json
from agenttrace_pipeline.config_errors import did_you_mean, known_fields
from agenttrace_pipeline.sources.download import is_url
from agenttrace_pipeline.sources.formats import FORMATS


class SourceConfigError(ValueError):
    """A sources file is unreadable or invalid; the message names the file and the field."""


@dataclass(frozen=True)
class SourceSpec:
    """One configured source, its locations resolved against the file that named it."""

    name: str
    format: str
    locations: tuple[str, ...]
    sha256: dict[str, str] = field(default_factory=dict)
    license: str = ""
    optional: bool = False
    fallback: tuple[str, ...] = ()
    context_window: int | None = None


class SourceEntry(BaseModel):
    """One entry of ``sources``."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    name: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_]+$")]
    format: str
    locations: list[str] = []
    sha256: dict[str, Annotated[str, StringConstraints(pattern=r"^[0-9a-fA-F]{64}$")]] = {}
    license: str = ""
    optional: bool = False
    fallback: list[str] = []
    context_window: Annotated[int, Field(gt=0)] | None = None

    @field_validator("format")
    @classmethod
    def _known_format(cls, value: str) -> str:
        if value not in FORMATS:
            raise ValueError(f"unknown format {value!r}; one of {sorted(FORMATS)}")
        return value


class SourcesFile(BaseModel):
    """A whole sources file."""

    model_config = ConfigDict(extra="forbid", strict=True)

    comment: str = Field("", alias="$comment")
    mode: Literal["extend", "replace"] = "extend"
    sources: list[SourceEntry]

    @model_validator(mode="after")
    def _unique_names(self) -> SourcesFile:
        names = [s.name for s in self.sources]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"source names must be unique; repeated: {repeated}")
        return self


def default_config_path() -> Path:
    return settings.PROJECT_ROOT / "assets_config" / "sources.json"


def config_files() -> list[Path]:
    """The files that make up the source list: the bundled one, then the user's (when set)."""
    user = settings.user_sources_file()
    return [default_config_path(), *([user] if user else [])]


def read_file(path: Path) -> tuple[SourcesFile, list[SourceSpec]]:
    """Parse and validate one sources file; raises :class:`SourceConfigError` naming the file and field."""
    try:
        data = strict_json.loads(path.read_bytes())
    except OSError as exc:
        raise SourceConfigError(f"{path}: cannot read the source list ({exc.strerror or exc})") from None
    except ValueError as exc:  # invalid JSON or a repeated key
        raise SourceConfigError(f"{path}: not a valid source list: {exc}") from None
    try:
        model = SourcesFile.model_validate(data)
    except ValidationError as exc:
        raise SourceConfigError("\n".join(_describe(path, e, data) for e in exc.errors())) from None
    base = path.resolve().parent
    specs = [SourceSpec(s.name, s.format, _relative_to(base, s.locations), dict(s.sha256), s.license, s.optional,
                        _relative_to(base, s.fallback), s.context_window) for s in model.sources]
    return model, specs


def load_sources(path: str | Path | None = None) -> list[SourceSpec]:
    """The configured sources: ``path`` alone when given; otherwise the bundled list, extended or replaced by
    the user's file (:func:`agenttrace_pipeline.settings.user_sources_file`)."""
    if path is not None:
        return read_file(Path(path))[1]
    _, bundled = read_file(default_config_path())
    user = settings.user_sources_file()
    if user is None:
        return bundled
    model, mine = read_file(user)
    if model.mode == "replace":
        return mine
    merged = {s.name: s for s in bundled} | {s.name: s for s in mine}
    return list(merged.values())


def _relative_to(base: Path, locations: list[str]) -> tuple[str, ...]:
    return tuple(loc if is_url(loc) or loc.startswith("${") or Path(loc).is_absolute() else str(base / loc)
                 for loc in locations)


def _describe(path: Path, error: Any, data: Any) -> str:
    """One line per validation error: file, field path (with the source's name when known), problem."""
    loc = error["loc"]
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".") or "(top level)"
    if len(loc) >= 2 and loc[0] == "sources" and isinstance(loc[1], int):
        entry = data["sources"][loc[1]]
        if isinstance(entry, dict) and isinstance(entry.get("name"), str):
            where += f" (source {entry['name']!r})"
    if error["type"] == "extra_forbidden":
        known = known_fields(SourcesFile, tuple(loc[:-1]))
        hint = did_you_mean(str(loc[-1]), known) or f"; known fields: {known}"
        return f"{path}: {where}: unknown field {loc[-1]!r}{hint}"
    msg = error["msg"].removeprefix("Value error, ")
    return f"{path}: {where}: {msg}"
