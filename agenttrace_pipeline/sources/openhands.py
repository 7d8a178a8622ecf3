"""OpenHands evaluation outputs → canonical turns and tool spans.

* V0 ``output.jsonl`` (one instance per line): turns are ``metrics.token_usages[]`` in order, joined by
  ``response_id`` to ``metrics.response_latencies[]`` and to the history events the response produced
  (``tool_call_metadata.model_response.id``). A response's first action event marks when it arrived; the
  request left ``latency`` seconds before. An action and the observation caused by it form a tool span.
  A ``condensation`` action between two calls documents a context reset.
* V1 event files (agent SDK; ``kind`` = ActionEvent / ObservationEvent, ``llm_response_id``): timing only,
  no token counts. A turn per ``llm_response_id``; its request is taken to leave when the last
  observation before its first action arrived.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from agenttrace_pipeline.sources.canonical import Parsed, jsonl_records, ms_between, span, turn
from agenttrace_pipeline.sources.fields import Node, RecordError, shift

FORMAT_V0 = "openhands_v0"
FORMAT_V1 = "openhands_v1"


def _response_id(event: Node) -> str | None:
    meta = event.node("tool_call_metadata")
    response = meta.node("model_response") if meta else None
    return response.ident("id") if response else None


def _read(files: list[Path], source: str, trace_of, convert) -> Parsed:
    out = Parsed(source)
    for path in files:
        for line_no, row in jsonl_records(path, out):
            trace_id = trace_of(row, path, line_no)
            out.add_record_trace(str(path), line_no, trace_id, row, convert)
    return out


def read_v0(files: list[Path], source: str) -> Parsed:
    return _read(files, source, lambda row, path, n: str(row.get("instance_id") or f"{path.name}:{n}"), _v0_instance)


def _v0_history(history: list[Node]):
    """From the history: when each response's first action arrived, its actions, the responses that follow a
    condensation, and the observation caused by each action."""
    arrived: dict[str, Any] = {}
    actions: dict[str, list[Node]] = {}
    condensed_before: set[str] = set()
    pending_condensation = False
    for e in history:
        if e.raw("action") == "condensation":
            pending_condensation = True
        rid = _response_id(e)
        if rid and "action" in e.data:
            arrived.setdefault(rid, e.time("timestamp"))
            actions.setdefault(rid, []).append(e)
            if pending_condensation:
                condensed_before.add(rid)
                pending_condensation = False
    observation_of = {str(e.raw("cause")): e for e in history if "observation" in e.data}
    return arrived, actions, condensed_before, observation_of


def _v0_instance(row: Node, source: str, trace_id: str):
    metrics = row.node_or_empty("metrics")
    latency = {x.ident("response_id"): x for x in metrics.nodes("response_latencies")}
    arrived, actions, condensed_before, observation_of = _v0_history(row.nodes("history"))
    turns: list[dict[str, Any]] = []
    spans: list[dict[str, Any]] = []
    prev_end: datetime | None = None
    for i, u in enumerate(metrics.nodes("token_usages")):
        rid = u.ident("response_id")
        end = arrived.get(rid)
        lat = latency[rid].number("latency") if rid in latency else None
        lat_ms = lat * 1000 if lat is not None else None
        start = shift(end, -lat_ms, f"{latency[rid].path}.latency") if lat_ms is not None else None
        tool_ms = 0.0
        for a in actions.get(rid, []):
            obs = observation_of.get(str(a.raw("id")))
            a_t, o_t = a.time("timestamp"), obs.time("timestamp") if obs else None
            meta = a.node_or_empty("tool_call_metadata")
            code = obs.node_or_empty("extras").node_or_empty("metadata").integer("exit_code") if obs else None
            code = code if code is not None and code >= -1 else None
            spans.append(span(source, trace_id, len(spans), turn_index=i,
                              tool_name=meta.text("function_name") or a.text("action"), started_at=a_t, ended_at=o_t,
                              exit_code=code, is_error=(code != 0) if code is not None else None))
            tool_ms += ms_between(a_t, o_t) or 0.0
        turns.append(turn(
            source, trace_id, i, model=u.text("model"), started_at=start,
            prompt_tokens=u.tokens("prompt_tokens"), completion_tokens=u.tokens("completion_tokens"),
            cached_tokens=u.tokens("cache_read_tokens"), llm_latency_ms=lat_ms,
            gap_before_ms=ms_between(prev_end, start) if i else None, tool_time_ms=tool_ms if actions.get(rid) else None,
            n_tool_calls=len(actions.get(rid, [])), context_reset=rid in condensed_before,
        ))
        prev_end = end if end is not None else prev_end
    return turns, spans


def read_v1(files: list[Path], source: str) -> Parsed:
    def convert(row: Node, source: str, trace_id: str):
        if not row.has("history"):
            raise RecordError("history", "missing: a V1 row holds its events in history")
        return _v1_events(row.nodes("history"), source, trace_id)

    return _read(files, source, lambda row, path, n: f"{row.get('instance_id') or path.stem}:{path.stem}:{n}", convert)


def _v1_events(history: list[Node], source: str, trace_id: str):
    turns: list[dict] = []
    spans: list[dict] = []
    index: dict[str, int] = {}
    last_obs: datetime | None = None
    prev_end: datetime | None = None
    action_at: dict[str, Any] = {}
    for e in history:
        ts = e.time("timestamp")
        kind = e.raw("kind")
        rid = e.ident("llm_response_id")
        if kind == "ActionEvent" and rid:
            if rid not in index:
                index[rid] = len(turns)
                start = last_obs if (last_obs and prev_end and last_obs >= prev_end) else None
                turns.append(turn(source, trace_id, len(turns), started_at=start, llm_latency_ms=ms_between(start, ts),
                                  gap_before_ms=ms_between(prev_end, start) if turns else None))
                prev_end = ts
            t = turns[index[rid]]
            t["n_tool_calls"] += 1
            action_at[str(e.raw("id"))] = (ts, index[rid], e.text("tool_name"))
        elif kind == "ObservationEvent":
            last_obs = ts
            a = action_at.get(str(e.raw("action_id")))
            if a is not None:
                a_ts, ti, name = a
                spans.append(span(source, trace_id, len(spans), turn_index=ti, tool_name=name or e.text("tool_name"),
                                  started_at=a_ts, ended_at=ts))
                d = ms_between(a_ts, ts)
                if d is not None:
                    turns[ti]["tool_time_ms"] = (turns[ti]["tool_time_ms"] or 0.0) + d
    return turns, spans
