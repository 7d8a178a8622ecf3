"""The side files beside a Claude Code log: exact tool times (``tool_calls.json``) and resource telemetry
(``resources.json``) for the tool spans the log implies.

Each entry of a side file is a record: counted, and quarantined with its key (``[3]``) and field when it is
malformed. A side file is read once per adapter call even when several logs share its folder.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

from agenttrace_pipeline.sources.canonical import RECORD_ERRORS, Parsed, load_json, ms_between
from agenttrace_pipeline.sources.fields import Node, RecordError

TOOL_CALLS = "tool_calls.json"
RESOURCES = "resources.json"


class _Stream(Protocol):
    spans: list[dict]
    span_tool_ids: list[str]


def _tool_call(x: Node) -> dict[str, Any]:
    return {"id": x.ident("id"), "start": x.time("timestamp"), "end": x.time("end_timestamp"), "tool": x.text("tool")}


def _sample(x: Node) -> dict[str, Any]:
    t = x.time("timestamp")
    if t is None:
        raise RecordError(f"{x.path}.timestamp", "missing: a telemetry sample needs its time")
    return {"t": t, "rss": x.integer("rss_bytes", lo=0), "user": x.number("cpu_user_s"), "system": x.number("cpu_system_s")}


def side_entries(path: Path, out: Parsed, cache: dict[Path, list], parse) -> list[dict[str, Any]]:
    """The valid entries of the side file ``path`` (a JSON list of objects), each parsed by ``parse``; []
    when it does not exist. Counts and quarantines entries in ``out`` the first time a file is read."""
    if path in cache:
        return cache[path]
    entries: list[dict[str, Any]] = []
    cache[path] = entries
    if not path.exists():
        return entries
    try:
        data = load_json(path.read_bytes())
        if not isinstance(data, list):
            raise RecordError("", "expected a JSON list of objects")
    except (OSError, RecordError) as exc:
        out.records_in += 1
        out.reject_error(str(path), "file", exc)
        return entries
    for i, x in enumerate(data):
        out.records_in += 1
        try:
            entries.append(parse(Node(x, f"[{i}]")))
        except RECORD_ERRORS as exc:
            out.reject_error(str(path), f"[{i}]", exc)
            continue
        out.accept(str(path), f"[{i}]")
    return entries


def refine_tools(log: Path, streams: Iterable[_Stream], out: Parsed, cache: dict[Path, list]) -> None:
    """Exact tool times from ``tool_calls.json`` and resource use from ``resources.json``, when present."""
    calls = {str(c["id"]): c for c in side_entries(log.parent / TOOL_CALLS, out, cache, _tool_call)}
    samples = sorted(side_entries(log.parent / RESOURCES, out, cache, _sample), key=lambda s: s["t"])
    times = [s["t"] for s in samples]
    for st in streams:
        for sp, tool_id in zip(st.spans, st.span_tool_ids, strict=True):
            c = calls.get(tool_id)
            if c is not None:
                sp["started_at"] = c["start"] or sp["started_at"]
                sp["ended_at"] = c["end"] or sp["ended_at"]
                sp["duration_ms"] = ms_between(sp["started_at"], sp["ended_at"])
                sp["tool_name"] = c["tool"] or sp["tool_name"]
            if sp["started_at"] and sp["ended_at"]:
                inside = samples[bisect.bisect_left(times, sp["started_at"]):bisect.bisect_right(times, sp["ended_at"])]
                _attach(sp, inside)


def _attach(sp: dict[str, Any], inside: list[dict[str, Any]]) -> None:
    """Peak RSS and CPU seconds used over the telemetry samples taken while the tool ran."""
    if not inside:
        return
    rss = [s["rss"] for s in inside if s["rss"] is not None]
    sp["peak_rss_bytes"] = max(rss) if rss else None
    for key, col in (("user", "user_cpu_s"), ("system", "system_cpu_s")):
        vals = [s[key] for s in inside if s[key] is not None]
        sp[col] = (vals[-1] - vals[0]) if len(vals) > 1 else None
