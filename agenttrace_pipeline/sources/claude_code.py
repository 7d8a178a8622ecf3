"""Claude Code session logs → canonical turns and tool spans.

Input: ``trace.jsonl`` (one JSON object per line: ``type``, ``uuid``, ``parentUuid``, ``sessionId``, ISO
``timestamp``, ``message``) — or the same records in TraceLab's readable dump, where records are separated
by ``===== record N =====`` lines. Optional ``tool_calls.json`` ([{timestamp, end_timestamp, tool, id}])
and ``resources.json`` ([{timestamp, rss_bytes, cpu_user_s, cpu_system_s}]) beside the log refine tool spans.

One assistant ``message.id`` spans several lines (one per content block): it is one LLM call, counted
once, with the largest usage seen; prompt = input + cache read + cache creation tokens. Its request left
at the last user / tool-result line before its first line; its response ended at its last line. Side-chain
(sub-agent) lines are separate request streams: trace ``<sessionId>:sidechain``. A compact summary
(``isCompactSummary``) or ``compact_boundary`` system line marks a context reset for the next call.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import orjson

from agenttrace_pipeline.sources.canonical import Parsed, ms_between, nonneg_int, parse_time, span, turn

FORMAT = "claude_code"
_SEPARATOR = re.compile(rb"^===== record \d+ =====\s*$", re.M)


def _records(path: Path) -> list[tuple[str, bytes]]:
    data = path.read_bytes()
    if _SEPARATOR.search(data):
        parts = _SEPARATOR.split(data)
        return [(f"record {i}", p.strip()) for i, p in enumerate(parts[1:], start=1) if p.strip()]
    return [(f"line {i}", line) for i, line in enumerate(data.splitlines(), start=1) if line.strip()]


def _side_file(path: Path, name: str) -> list[dict]:
    f = path.parent / name
    if not f.exists():
        return []
    try:
        data = orjson.loads(f.read_bytes())
    except orjson.JSONDecodeError:
        return []
    return [d for d in data if isinstance(d, dict)] if isinstance(data, list) else []


class _Stream:
    """One request stream (main chain or side chain) being assembled."""

    def __init__(self, source: str, trace_id: str) -> None:
        self.source, self.trace_id = source, trace_id
        self.turns: list[dict] = []
        self.by_msg: dict[str, int] = {}
        self.first_line: dict[str, Any] = {}
        self.last_input = None
        self.prev_end = None
        self.reset_next = False
        self.tool_uses: dict[str, tuple[int, Any, str]] = {}  # tool_use id -> (turn, emitted, name)
        self.spans: list[dict] = []
        self.span_tool_ids: list[str] = []


def read(files: list[Path], source: str) -> Parsed:
    out = Parsed(source)
    for path in files:
        try:
            records = _records(path)
        except OSError as exc:
            out.records_in += 1
            out.reject(str(path), "file", f"cannot read: {exc.strerror or exc}")
            continue
        streams: dict[str, _Stream] = {}
        for where, raw in records:
            out.records_in += 1
            try:
                rec = orjson.loads(raw)
                if not isinstance(rec, dict):
                    raise TypeError("not a JSON object")
                _apply(rec, streams, source)
            except (orjson.JSONDecodeError, TypeError, ValueError) as exc:
                out.reject(str(path), where, f"{type(exc).__name__}: {exc}")
                continue
            out.records_accepted += 1
        _refine_tools(path, streams)
        for st in streams.values():
            out.turns += [{k: v for k, v in t.items() if not k.startswith("_")} for t in st.turns]
            out.spans += st.spans
    return out


def _apply(rec: dict[str, Any], streams: dict[str, _Stream], source: str) -> None:
    kind = rec.get("type")
    if kind not in ("assistant", "user", "system"):
        return
    sid = rec.get("sessionId")
    if not isinstance(sid, str):
        raise ValueError(f"{kind} record without sessionId")
    key = f"{sid}:sidechain" if rec.get("isSidechain") else sid
    st = streams.setdefault(key, _Stream(source, key))
    ts = parse_time(rec.get("timestamp"))
    if ts is None:
        raise ValueError(f"{kind} record with a missing or unparsable timestamp {rec.get('timestamp')!r}")
    if kind == "system":
        if rec.get("subtype") == "compact_boundary":
            st.reset_next = True
        return
    msg = rec.get("message") or {}
    content = msg.get("content")
    items = content if isinstance(content, list) else []
    if kind == "user":
        if rec.get("isCompactSummary"):
            st.reset_next = True
        for it in items:
            if isinstance(it, dict) and it.get("type") == "tool_result":
                use = st.tool_uses.pop(str(it.get("tool_use_id")), None)
                if use is not None:
                    ti, emitted, name = use
                    st.spans.append(span(source, st.trace_id, len(st.spans), turn_index=ti, tool_name=name,
                                         started_at=emitted, ended_at=ts, is_error=bool(it.get("is_error"))))
                    st.span_tool_ids.append(str(it.get("tool_use_id")))
                    d = ms_between(emitted, ts)
                    if d is not None:
                        st.turns[ti]["tool_time_ms"] = (st.turns[ti]["tool_time_ms"] or 0.0) + d
        st.last_input = ts
        return
    mid = msg.get("id")
    usage = msg.get("usage")
    if not isinstance(mid, str) or not isinstance(usage, dict):
        raise ValueError("assistant record without message.id or message.usage")
    fresh = nonneg_int(usage.get("input_tokens")) or 0
    read_ = nonneg_int(usage.get("cache_read_input_tokens")) or 0
    created = nonneg_int(usage.get("cache_creation_input_tokens")) or 0
    output = nonneg_int(usage.get("output_tokens"))
    if mid not in st.by_msg:
        start = st.last_input
        st.by_msg[mid] = len(st.turns)
        st.turns.append(turn(source, st.trace_id, len(st.turns), model=msg.get("model"), started_at=start,
                             gap_before_ms=ms_between(st.prev_end, start) if st.turns else None,
                             context_reset=st.reset_next, _start=start))
        st.reset_next = False
    ti = st.by_msg[mid]
    t = st.turns[ti]
    t["prompt_tokens"] = max(t["prompt_tokens"] or 0, fresh + read_ + created)
    t["cached_tokens"] = max(t["cached_tokens"] or 0, read_)
    t["completion_tokens"] = max(t["completion_tokens"] or 0, output or 0)
    t["llm_latency_ms"] = ms_between(t["_start"], ts)
    st.prev_end = ts
    for it in items:
        if isinstance(it, dict) and it.get("type") == "tool_use":
            t["n_tool_calls"] += 1
            st.tool_uses[str(it.get("id"))] = (ti, ts, str(it.get("name") or "tool"))


def _refine_tools(path: Path, streams: dict[str, _Stream]) -> None:
    """Exact tool times from ``tool_calls.json`` and resource use from ``resources.json``, when present."""
    calls = {str(c.get("id")): c for c in _side_file(path, "tool_calls.json")}
    samples = [(parse_time(x.get("timestamp")), x) for x in _side_file(path, "resources.json")]
    samples = sorted((t, x) for t, x in samples if t is not None)
    for st in streams.values():
        for sp, tool_id in zip(st.spans, st.span_tool_ids, strict=True):
            c = calls.get(tool_id)
            if c is not None:
                sp["started_at"] = parse_time(c.get("timestamp")) or sp["started_at"]
                sp["ended_at"] = parse_time(c.get("end_timestamp")) or sp["ended_at"]
                sp["duration_ms"] = ms_between(sp["started_at"], sp["ended_at"])
                sp["tool_name"] = c.get("tool") or sp["tool_name"]
            inside = [x for t, x in samples if sp["started_at"] and sp["ended_at"] and sp["started_at"] <= t <= sp["ended_at"]]
            if inside:
                rss = [int(x["rss_bytes"]) for x in inside if isinstance(x.get("rss_bytes"), (int, float))]
                sp["peak_rss_bytes"] = max(rss) if rss else None
                for key, col in (("cpu_user_s", "user_cpu_s"), ("cpu_system_s", "system_cpu_s")):
                    vals = [float(x[key]) for x in inside if isinstance(x.get(key), (int, float))]
                    sp[col] = (vals[-1] - vals[0]) if len(vals) > 1 else None
