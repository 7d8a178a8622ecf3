"""Resolving a configured source to its files, running its adapter and the turn contract, and the per-source
figures (record accounting, API-error records, snapshot turns, quarantined traces) for metadata and reports.

The source list itself (``assets_config/sources.json`` and a user's own file) is read by
:mod:`agenttrace_pipeline.sources.config`. An ``optional`` source whose locations are absent or cannot be
fetched falls back to its ``fallback`` list — the project's own small samples, so the pipeline always runs.
"""

from __future__ import annotations

import glob
import logging
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import orjson

from agenttrace_pipeline import settings
from agenttrace_pipeline.sources import contract
from agenttrace_pipeline.sources.canonical import Parsed
from agenttrace_pipeline.sources.column_stats import column_median
from agenttrace_pipeline.sources.config import (  # noqa: F401  (re-exported: the registry is the entry point)
    SourceConfigError,
    SourceSpec,
    config_files,
    default_config_path,
    load_sources,
)
from agenttrace_pipeline.sources.download import DownloadError, FetchPolicy, is_url, resolve_location
from agenttrace_pipeline.sources.formats import FORMATS, Reader  # noqa: F401
from agenttrace_pipeline.store.atomic import sha256_file

log = logging.getLogger(__name__)


@dataclass
class Resolved:
    spec: SourceSpec
    files: list[Path]
    used_fallback: bool
    notes: list[str]


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
    """Resolve a source's files, run its adapter, and quarantine the traces that break the turn contract."""
    res = resolve(spec, policy)
    for n in res.notes:
        log.warning(n)
    return res, contract.enforce(FORMATS[spec.format](res.files, spec.name))


def summary(parsed: Parsed) -> dict[str, Any]:
    """Per-source figures for metadata and reports: record accounting, traces, turns, medians."""
    t = parsed.turns_frame()
    med = partial(column_median, t)
    return {
        **_counts(parsed), "traces": t["trace_id"].n_unique() if t.height else 0, "turns": t.height,
        "median_prompt_tokens": med("prompt_tokens"), "median_new_input_tokens": med("new_input_tokens"),
        "median_completion_tokens": med("completion_tokens"), "median_gap_ms": med("gap_before_ms"),
        "median_llm_latency_ms": med("llm_latency_ms"), "tool_spans": len(parsed.spans),
        "arrivals": sum(a.height for a in parsed.arrivals),
    }


def stats_row(resolved: Resolved, parsed: Parsed) -> dict[str, Any]:
    """The ``source_ingest_stats`` row of one ingest: format, record accounting, API-error records, snapshot
    turns, quarantined traces, whether the bundled sample was used, and the files read."""
    return {"format": resolved.spec.format, **_counts(parsed), "used_fallback": resolved.used_fallback,
            "files": orjson.dumps([str(f) for f in resolved.files]).decode()}


def _counts(parsed: Parsed) -> dict[str, int]:
    return {"records_in": parsed.records_in, "records_accepted": parsed.records_accepted,
            "records_quarantined": len(parsed.quarantine), "api_error_records": parsed.api_error_records,
            "snapshot_turns": parsed.snapshot_turns, "quarantined_traces": parsed.quarantined_traces}


def quarantined_examples(parsed: Parsed, limit: int = 10) -> list[str]:
    """``FILE:RECORD field: reason`` for the first ``limit`` quarantined records, for metadata and logs."""
    return [f"{q['file']}:{q['record']} {q['field'] or '(record)'}: {q['reason']}" for q in parsed.quarantine[:limit]]


def input_fingerprints(resolved: Resolved) -> dict[str, str]:
    """Content hashes of what an ingest read: the source-list files and the source's files."""
    return {str(f): sha256_file(f) for f in [*config_files(), *resolved.files]}
