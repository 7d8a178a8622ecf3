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

from pathlib import Path
from typing import Any

from agenttrace_pipeline.sources.canonical import Parsed, jsonl_records, ms_between, nonneg_int, parse_time, span, turn

FORMAT_V0 = "openhands_v0"
FORMAT_V1 = "openhands_v1"


def _response_id(event: dict[str, Any]) -> str | None:
    meta = event.get("tool_call_metadata") or {}
    return ((meta.get("model_response") or {}).get("id")) if isinstance(meta, dict) else None


def _read(files: list[Path], source: str, trace_of, convert) -> Parsed:
    out = Parsed(source)
    for path in files:
        for line_no, row in jsonl_records(path, out):
            trace_id = trace_of(row, path, line_no)
            out.add_trace(str(path), line_no, trace_id, lambda r=row, t=trace_id: convert(r, source, t))
    return out


def read_v0(files: list[Path], source: str) -> Parsed:
    return _read(files, source, lambda row, path, n: str(row.get("instance_id") or f"{path.name}:{n}"), _v0_instance)


def _v0_instance(row: dict[str, Any], source: str, trace_id: str):
    metrics = row.get("metrics") or {}
    usages = metrics.get("token_usages") or []
    latency = {x.get("response_id"): x.get("latency") for x in metrics.get("response_latencies") or []}
    history = row.get("history") or []
    arrived: dict[str, Any] = {}
    actions: dict[str, list[dict]] = {}
    condensed_before: set[str] = set()
    pending_condensation = False
    for e in history:
        if not isinstance(e, dict):
            continue
        if e.get("action") == "condensation":
            pending_condensation = True
        rid = _response_id(e)
        if rid and "action" in e:
            arrived.setdefault(rid, parse_time(e.get("timestamp")))
            actions.setdefault(rid, []).append(e)
            if pending_condensation:
                condensed_before.add(rid)
                pending_condensation = False
    observation_of = {str(e.get("cause")): e for e in history if isinstance(e, dict) and "observation" in e}
    turns, spans = [], []
    prev_end = None
    for i, u in enumerate(usages):
        rid = u.get("response_id")
        end = arrived.get(rid)
        lat = latency.get(rid)
        lat_ms = float(lat) * 1000 if isinstance(lat, (int, float)) else None
        start = parse_time(end.timestamp() - lat) if (end is not None and lat_ms is not None) else None
        tool_ms = 0.0
        for a in actions.get(rid, []):
            obs = observation_of.get(str(a.get("id")))
            a_t, o_t = parse_time(a.get("timestamp")), parse_time(obs.get("timestamp")) if obs else None
            meta = a.get("tool_call_metadata") or {}
            code = ((obs or {}).get("extras") or {}).get("metadata", {}).get("exit_code") if obs else None
            spans.append(span(source, trace_id, len(spans), turn_index=i,
                              tool_name=meta.get("function_name") or a.get("action"), started_at=a_t, ended_at=o_t,
                              exit_code=code if isinstance(code, int) and code >= -1 else None,
                              is_error=(code not in (0, None)) if isinstance(code, int) else None))
            tool_ms += ms_between(a_t, o_t) or 0.0
        turns.append(turn(
            source, trace_id, i, model=u.get("model"), started_at=start,
            prompt_tokens=nonneg_int(u.get("prompt_tokens")), completion_tokens=nonneg_int(u.get("completion_tokens")),
            cached_tokens=nonneg_int(u.get("cache_read_tokens")), llm_latency_ms=lat_ms,
            gap_before_ms=ms_between(prev_end, start) if i else None, tool_time_ms=tool_ms if actions.get(rid) else None,
            n_tool_calls=len(actions.get(rid, [])), context_reset=rid in condensed_before,
        ))
        prev_end = end if end is not None else prev_end
    return turns, spans


def read_v1(files: list[Path], source: str) -> Parsed:
    def convert(row: dict[str, Any], source: str, trace_id: str):
        history = row.get("history")
        if not isinstance(history, list):
            raise TypeError("history is not a list")
        return _v1_events(history, source, trace_id)

    return _read(files, source, lambda row, path, n: f"{row.get('instance_id') or path.stem}:{path.stem}:{n}", convert)


def _v1_events(history: list[dict], source: str, trace_id: str):
    turns: list[dict] = []
    spans: list[dict] = []
    index: dict[str, int] = {}
    last_obs = None
    prev_end = None
    action_at: dict[str, Any] = {}
    for e in history:
        if not isinstance(e, dict):
            continue
        ts = parse_time(e.get("timestamp"))
        kind = e.get("kind")
        rid = e.get("llm_response_id")
        if kind == "ActionEvent" and rid:
            if rid not in index:
                index[rid] = len(turns)
                start = last_obs if (last_obs and prev_end and last_obs >= prev_end) else None
                turns.append(turn(source, trace_id, len(turns), started_at=start, llm_latency_ms=ms_between(start, ts),
                                  gap_before_ms=ms_between(prev_end, start) if turns else None))
                prev_end = ts
            t = turns[index[rid]]
            t["n_tool_calls"] += 1
            action_at[str(e.get("id"))] = (ts, index[rid], e.get("tool_name"))
        elif kind == "ObservationEvent":
            last_obs = ts
            a = action_at.get(str(e.get("action_id")))
            if a is not None:
                a_ts, ti, name = a
                spans.append(span(source, trace_id, len(spans), turn_index=ti, tool_name=name or e.get("tool_name"),
                                  started_at=a_ts, ended_at=ts))
                d = ms_between(a_ts, ts)
                if d is not None:
                    turns[ti]["tool_time_ms"] = (turns[ti]["tool_time_ms"] or 0.0) + d
    return turns, spans
