"""Source formats, their adapters, and the source list in ``assets_config/sources.json``.

Each source names a ``format`` and ``locations`` (local paths, globs, or http(s) URLs; ``${shared_data}`` and
``${project}`` are expanded), optionally ``sha256`` per URL, a ``license``, and a ``fallback`` list used when
an ``optional`` source's locations are absent or cannot be fetched — the project's own small samples, so the
pipeline always runs.
"""

from __future__ import annotations

import glob
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from agenttrace_pipeline import settings
from agenttrace_pipeline.sources import agenttrace, arrival_traces, claude_code, mini_swe_agent, openhands, tracelab
from agenttrace_pipeline.sources.canonical import Parsed
from agenttrace_pipeline.sources.download import DownloadError, FetchPolicy, is_url, resolve_location

log = logging.getLogger(__name__)

Reader = Callable[[list[Path], str], Parsed]
FORMATS: dict[str, Reader] = {
    agenttrace.FORMAT: agenttrace.read,
    openhands.FORMAT_V0: openhands.read_v0,
    openhands.FORMAT_V1: openhands.read_v1,
    mini_swe_agent.FORMAT: mini_swe_agent.read,
    claude_code.FORMAT: claude_code.read,
    tracelab.FORMAT: tracelab.read,
    arrival_traces.FORMAT_AZURE: arrival_traces.read_azure,
    arrival_traces.FORMAT_MOONCAKE: arrival_traces.read_mooncake,
}


class SourceConfigError(ValueError):
    """sources.json is unreadable or names something that does not exist."""


@dataclass(frozen=True)
class SourceSpec:
    name: str
    format: str
    locations: tuple[str, ...]
    sha256: dict[str, str] = field(default_factory=dict)
    license: str = ""
    optional: bool = False
    fallback: tuple[str, ...] = ()


@dataclass
class Resolved:
    spec: SourceSpec
    files: list[Path]
    used_fallback: bool
    notes: list[str]


def default_config_path() -> Path:
    return settings.PROJECT_ROOT / "assets_config" / "sources.json"


def load_sources(path: str | Path | None = None) -> list[SourceSpec]:
    path = Path(path) if path else default_config_path()
    try:
        data = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise SourceConfigError(f"{path}: cannot read source list ({exc})") from None
    specs = []
    for i, d in enumerate(data.get("sources", [])):
        where = f"{path}: sources[{i}]"
        if not isinstance(d, dict) or not d.get("name") or not d.get("format"):
            raise SourceConfigError(f"{where}: needs name and format")
        if d["format"] not in FORMATS:
            raise SourceConfigError(f"{where} ({d['name']}): unknown format {d['format']!r}; one of {sorted(FORMATS)}")
        if not str(d["name"]).replace("_", "").isalnum():
            raise SourceConfigError(f"{where}: name {d['name']!r} must be letters, digits and '_'")
        specs.append(SourceSpec(str(d["name"]), d["format"], tuple(d.get("locations", [])), dict(d.get("sha256", {})),
                                str(d.get("license", "")), bool(d.get("optional", False)), tuple(d.get("fallback", []))))
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise SourceConfigError(f"{path}: source names must be unique")
    return specs


def _files(locations: tuple[str, ...], spec: SourceSpec, policy: FetchPolicy | None) -> list[Path]:
    files: list[Path] = []
    for loc in map(settings.expand, locations):
        if is_url(loc):
            files.append(resolve_location(loc, sha256=spec.sha256.get(loc), policy=policy))
        elif any(c in loc for c in "*?["):
            files += sorted(Path(p) for p in glob.glob(loc, recursive=True))
        else:
            files.append(resolve_location(loc, sha256=spec.sha256.get(loc)))
    return files


def resolve(spec: SourceSpec, policy: FetchPolicy | None = None) -> Resolved:
    """The files of a source; an optional source falls back to its samples when its files are missing."""
    policy = policy or FetchPolicy()
    notes: list[str] = []
    try:
        files = _files(spec.locations, spec, policy)
        if files:
            return Resolved(spec, files, False, notes)
        notes.append(f"{spec.name}: no files match {list(spec.locations)}")
    except DownloadError as exc:
        if not spec.optional:
            raise
        notes.append(f"{spec.name}: {exc}")
    if not spec.optional:
        raise DownloadError(notes[-1])
    files = _files(spec.fallback, spec, policy)
    notes.append(f"{spec.name}: using the bundled sample ({', '.join(f.name for f in files)})")
    return Resolved(spec, files, True, notes)


def ingest(spec: SourceSpec, policy: FetchPolicy | None = None) -> tuple[Resolved, Parsed]:
    """Resolve a source's files and run its adapter."""
    res = resolve(spec, policy)
    for n in res.notes:
        log.warning(n)
    return res, FORMATS[spec.format](res.files, spec.name)


def summary(parsed: Parsed) -> dict[str, Any]:
    """Per-source figures for metadata and reports: record accounting, traces, turns, medians."""
    t = parsed.turns_frame()

    def med(col: str) -> float | None:
        return float(t[col].median()) if t.height and t[col].null_count() < t.height else None

    return {
        "records_in": parsed.records_in, "records_accepted": parsed.records_accepted,
        "records_quarantined": len(parsed.quarantine),
        "traces": t["trace_id"].n_unique() if t.height else 0, "turns": t.height,
        "median_prompt_tokens": med("prompt_tokens"), "median_new_input_tokens": med("new_input_tokens"),
        "median_completion_tokens": med("completion_tokens"), "median_gap_ms": med("gap_before_ms"),
        "median_llm_latency_ms": med("llm_latency_ms"), "tool_spans": len(parsed.spans),
        "arrivals": sum(a.height for a in parsed.arrivals),
    }
