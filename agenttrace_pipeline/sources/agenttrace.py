"""AgentTrace (seed 001) → canonical turns and tool spans.

Two forms of the same records: the release JSONL (``trace_id``, ``timestamp_utc``, ``prompt``, ``model``,
``total_duration_ms``, ``spans[]``, ``llm_steps[]``, ``metadata``) and the Hugging Face parquet view whose
``spans_json`` / ``llm_steps_json`` / ``metadata_json`` columns hold the same as JSON strings.

A turn is one ``llm_steps[]`` entry; tokens are used when the step reports them. Optional fields are
looked up under the names the collectors use (``start_time``/``started_at``, ``prompt_tokens``/
``input_tokens`` or ``usage.*``, …) and may be absent. Tool spans carry exit codes and resource telemetry
(user/system CPU seconds, peak RSS bytes, disk read/write bytes). A span belongs to the step it follows
(``step_index`` when given, else the last step that started before it); the gap before a step is the
time since the previous step ended (tool time).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

from agenttrace_pipeline.sources.canonical import RECORD_ERRORS, Parsed, jsonl_records, load_json, ms_between, span, turn
from agenttrace_pipeline.sources.fields import Node, shift

FORMAT = "agenttrace"


def _interval(d: Node, *duration_names: str) -> tuple[datetime | None, datetime | None, float | None]:
    """(start, end, duration ms) of a step or span; the end is derived from start + duration if absent."""
    start = d.time("start_time", "started_at", "start", "timestamp")
    end = d.time("end_time", "ended_at", "end")
    path, _ = d.lookup(*duration_names)
    dur = d.number(*duration_names)
    if end is None:
        end = shift(start, dur, path)
    return start, end, dur


def read(files: list[Path], source: str) -> Parsed:
    out = Parsed(source)
    for path in files:
        records = _parquet_records(path, out) if path.suffix == ".parquet" else jsonl_records(path, out)
        for where, rec in records:
            trace_id = str(rec.get("trace_id") or f"{path.name}:{where}")
            out.add_record_trace(str(path), where, trace_id, rec, _trace)
    return out


def _parquet_records(path: Path, out: Parsed):
    import polars as pl

    try:
        df = pl.read_parquet(path)
    except Exception as exc:  # polars raises several error types for unreadable files
        out.records_in += 1
        out.reject(str(path), "file", f"cannot read parquet: {exc}")
        return
    for i, row in enumerate(df.iter_rows(named=True)):
        out.records_in += 1
        rec = {k: v for k, v in row.items() if not k.endswith("_json")}
        try:
            for col in ("spans", "llm_steps", "metadata"):
                text = row.get(f"{col}_json")
                rec[col] = load_json(text, f"{col}_json") if text else rec.get(col)
        except RECORD_ERRORS as exc:
            out.reject_error(str(path), f"row {i}", exc)
            continue
        yield f"row {i}", rec


def _trace(rec: Node, source: str, trace_id: str):
    model = rec.text("model")
    turns: list[dict] = []
    starts: list[datetime | None] = []
    ends: list[datetime | None] = []
    for i, st in enumerate(rec.nodes("llm_steps")):
        start, end, dur = _interval(st, "duration_ms", "latency_ms")
        prompt = st.tokens("prompt_tokens", "input_tokens", "usage.prompt_tokens", "usage.input_tokens")
        completion = st.tokens("completion_tokens", "output_tokens", "usage.completion_tokens", "usage.output_tokens")
        cached = st.tokens("cached_tokens", "usage.prompt_tokens_details.cached_tokens")
        turns.append(turn(source, trace_id, i, model=st.text("model") or model, started_at=start,
                          prompt_tokens=prompt, completion_tokens=completion, cached_tokens=cached,
                          llm_latency_ms=ms_between(start, end) if end else dur,
                          gap_before_ms=ms_between(ends[-1], start) if (i and ends and ends[-1]) else None,
                          n_tool_calls=len(st.list("tool_calls", "parsed_tool_calls"))))
        starts.append(start)
        ends.append(end)
    spans = [_span(sp, j, source, trace_id, starts, len(turns)) for j, sp in enumerate(rec.nodes("spans"))]
    per_turn = Counter(s["turn_index"] for s in spans if s["turn_index"] is not None)
    for s in spans:
        ti = s["turn_index"]
        if ti is None:
            continue
        if s["duration_ms"] is not None:
            turns[ti]["tool_time_ms"] = (turns[ti]["tool_time_ms"] or 0.0) + s["duration_ms"]
        if not turns[ti]["n_tool_calls"]:  # the step did not list its calls: count the spans that followed it
            turns[ti]["n_tool_calls"] = per_turn[ti]
    return turns, spans


def _span(sp: Node, j: int, source: str, trace_id: str, starts: list, n_turns: int) -> dict[str, Any]:
    """One tool span; it belongs to its ``step_index`` if valid, else to the last step that started before it."""
    s_start, s_end, dur = _interval(sp, "duration_ms", "wall_time_ms")
    ti = sp.raw("step_index", "llm_step", "step")
    if not isinstance(ti, int) or isinstance(ti, bool) or not 0 <= ti < n_turns:
        ti = max((k for k, st in enumerate(starts) if st is not None and s_start is not None and st <= s_start),
                 default=None)
    res = sp.node_or_empty("resources", "resource_usage", "telemetry")
    code = sp.integer("exit_code", "returncode")
    return span(source, trace_id, j, turn_index=ti, tool_name=sp.ident("tool_name", "name"),
                started_at=s_start, ended_at=s_end, duration_ms=dur, exit_code=code,
                is_error=(code != 0) if code is not None else None,
                user_cpu_s=res.number("user_cpu_s", "user_cpu_time_s", "cpu_user_s"),
                system_cpu_s=res.number("system_cpu_s", "system_cpu_time_s", "cpu_system_s"),
                peak_rss_bytes=res.integer("peak_rss_bytes", "max_rss_bytes", "peak_rss", lo=0),
                disk_read_bytes=res.integer("disk_read_bytes", "read_bytes", lo=0),
                disk_write_bytes=res.integer("disk_write_bytes", "write_bytes", lo=0))
