"""Reference Mooncake traces (FAST'25 and others): configure, resolve, validate, tabulate, measure cache reuse.

``assets_config/reference_traces.json`` is read as the pydantic model :class:`ReferenceConfig`; every error
names the file and the field (``traces[1].name``). A trace's name becomes its warehouse partition
(``trace=<name>``) and its lineage key, so names are checked like file names: letters (any script: names
are NFC-normalised, so ``café`` typed on any system is one name), digits, ``_``, ``-`` and ``.``; no path
separators, no leading dot. Two names that differ only in case or normalisation would share a folder on
case-insensitive file systems, so they are rejected as the same name.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Annotated, Any
from urllib.parse import unquote, urlparse

import polars as pl
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from agenttrace_pipeline import settings, strict_json
from agenttrace_pipeline.cachesim.prefix_hits import HitStats, prefix_hit_stats, prompts_of
from agenttrace_pipeline.config_errors import did_you_mean, known_fields
from agenttrace_pipeline.sources.download import FetchPolicy, is_url, resolve_location
from agenttrace_pipeline.store.atomic import sha256_file
from agenttrace_pipeline.trace.model import BLOCK_SIZE
from agenttrace_pipeline.trace.schema import read_trace_table
from agenttrace_pipeline.trace.validator import ValidationReport, validate_file

_NAME = re.compile(r"[^\W][\w.-]{0,99}")


class TraceRejected(Exception):
    """A reference trace failed validation; nothing of it may reach the warehouse."""

    def __init__(self, name: str, path: Path, problems: list[str]) -> None:
        self.name, self.path, self.problems = name, path, problems
        shown = "\n  ".join(problems[:20])
        more = f"\n  … and {len(problems) - 20} more" if len(problems) > 20 else ""
        super().__init__(f"reference trace {name!r} ({path}) is invalid:\n  {shown}{more}")


class ConfigError(ValueError):
    """``reference_traces.json`` (or an extra location) is not a valid configuration; names file and field."""


def _trace_name(value: str) -> str:
    name = unicodedata.normalize("NFC", value)
    if not _NAME.fullmatch(name):
        raise ValueError(f"{value!r} cannot name a trace: it becomes a warehouse folder, so use letters, digits, "
                         "'_', '-' or '.' (at most 100, not starting with '.' or '-')")
    return name


TraceName = Annotated[str, AfterValidator(_trace_name)]


class ReferenceSpec(BaseModel):
    """One trace: its name, where it is (path or http(s) URL), optional sha256, licence, and whether a
    missing local file is skipped."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    name: TraceName
    location: str = Field(min_length=1)
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    license: str = ""
    optional: bool = False


class ReferenceConfig(BaseModel):
    """The whole file: block size, LRU capacities (in blocks), traces and the bundled fallback."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, populate_by_name=True)
    comment: str = Field(default="", alias="$comment")
    block_size: int = Field(default=BLOCK_SIZE, ge=1, le=1 << 20)
    lru_capacities: list[Annotated[int, Field(gt=0)]] = Field(default_factory=list)
    traces: list[ReferenceSpec] = Field(default_factory=list)
    fallback: ReferenceSpec | None = None
    source_path: Path | None = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _distinct_names(self) -> ReferenceConfig:
        where = [(f"traces[{i}]", t) for i, t in enumerate(self.traces)]
        where += [("fallback", self.fallback)] if self.fallback else []
        check_distinct([(label, spec.name) for label, spec in where])
        return self


def check_distinct(named: list[tuple[str, str]]) -> None:
    """Raise ``ValueError`` when two entries (``(label, name)``) resolve to the same trace name."""
    seen: dict[str, str] = {}
    for label, name in named:
        key = unicodedata.normalize("NFC", name).casefold()
        if key in seen:
            raise ValueError(f"{label}: trace name {name!r} is already used by {seen[key]} (names must differ in "
                             "more than case: each becomes a warehouse partition)")
        seen[key] = label


def _format(path: Path, exc: ValidationError) -> str:
    lines = []
    for e in exc.errors():
        loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in e["loc"]).lstrip(".")
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            msg = "unknown field" + did_you_mean(str(e["loc"][-1]), known_fields(ReferenceConfig, tuple(e["loc"][:-1])))
        lines.append(f"{path}: {loc or '(top level)'}: {msg}")
    return "\n".join(lines)


def load_reference_config(path: str | Path) -> ReferenceConfig:
    """Read ``assets_config/reference_traces.json`` (see its ``$comment``); raise :class:`ConfigError`
    naming the file and every bad field."""
    path = Path(path)
    try:
        data: Any = strict_json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: cannot read reference trace config ({exc})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: must be a JSON object")
    try:
        cfg = ReferenceConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format(path, exc)) from None
    return cfg.model_copy(update={"source_path": path})


def name_for_location(location: str) -> str:
    """The trace name an extra location gets: its file name without ``.gz``/``.jsonl``, made a valid name."""
    base = unquote(PurePosixPath(urlparse(location).path).name) if is_url(location) else Path(location).name
    for suffix in (".gz", ".jsonl", ".json"):
        base = base.removesuffix(suffix)
    name = re.sub(r"[^\w.-]+", "_", unicodedata.normalize("NFC", base)).lstrip(".-")[:100]
    return name or "trace"


def resolve_specs(cfg: ReferenceConfig, extra_locations: list[str]) -> tuple[list[ReferenceSpec], list[ReferenceSpec]]:
    """The traces to ingest (configured ones that are present, or the fallback, then the extra locations)
    and the skipped ones; raise :class:`ConfigError` when two of them resolve to the same name."""
    use, skipped = available_specs(cfg)
    extra = [ReferenceSpec(name=name_for_location(loc), location=loc) for loc in extra_locations]
    try:
        check_distinct([(f"the configured trace {s.name!r}", s.name) for s in use]
                       + [(f"extra_locations[{i}]", s.name) for i, s in enumerate(extra)])
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    return use + extra, skipped


@dataclass
class IngestedTrace:
    spec: ReferenceSpec
    path: Path
    sha256: str
    table: pl.DataFrame
    report: ValidationReport
    hit_stats: list[HitStats] = field(default_factory=list)

    @property
    def infinite_hit_rate(self) -> float:
        return next(s.hit_rate for s in self.hit_stats if s.capacity_blocks is None)

    def stats_frame(self) -> pl.DataFrame:
        return pl.DataFrame(
            [s.to_dict() for s in self.hit_stats],
            schema={"capacity_blocks": pl.Int64, "requests": pl.Int64, "input_tokens": pl.Int64,
                    "hit_tokens": pl.Int64, "distinct_blocks": pl.Int64, "hit_rate": pl.Float64},
        )


def available_specs(cfg: ReferenceConfig) -> tuple[list[ReferenceSpec], list[ReferenceSpec]]:
    """Split the configured traces into (to ingest, skipped because an optional local file is absent).

    When every configured trace is skipped, the fallback (the bundled sample) is ingested instead.
    """
    use, skipped = [], []
    for spec in cfg.traces:
        loc = settings.expand(spec.location)
        if spec.optional and not is_url(loc) and not Path(loc).exists():
            skipped.append(spec)
        else:
            use.append(spec)
    if not use and cfg.fallback is not None:
        use.append(cfg.fallback)
    return use, skipped


def ingest_reference_trace(
    spec: ReferenceSpec,
    block_size: int = BLOCK_SIZE,
    lru_capacities: tuple[int, ...] | list[int] = (),
    policy: FetchPolicy | None = None,
) -> IngestedTrace:
    """Fetch (if a URL), validate, tabulate and measure one trace (plain or gzip).

    Validation is the trace contract's validator with ``require_token_counts`` (the table stores token
    counts, so text rows are rejected with their line); a trace that passed it is not checked again.
    Raises :class:`TraceRejected` listing every violation (file, line, field, reason) when invalid.
    """
    path = resolve_location(settings.expand(spec.location), sha256=spec.sha256, policy=policy)
    report = validate_file(path, block_size=block_size, max_errors=200, require_token_counts=True)
    if not report.valid:
        raise TraceRejected(spec.name, path, [
            f"{path}:{v.line}: {v.field + ': ' if v.field else ''}{v.reason}" for v in report.violations])
    table = read_trace_table(path)
    prompts = list(prompts_of(table.select("session_id", "hash_ids", "input_length").iter_rows(named=True)))
    stats = [prefix_hit_stats(prompts, block_size, None)]
    stats += [prefix_hit_stats(prompts, block_size, cap) for cap in lru_capacities]
    return IngestedTrace(spec, path, sha256_file(path), table, report, stats)
