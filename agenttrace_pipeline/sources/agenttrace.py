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

from pathlib import Path
from typing import Any

import orjson

from agenttrace_pipeline.sources.canonical import Parsed, jsonl_records, ms_between, nonneg_int, parse_time, span, turn

FORMAT = "agenttrace"


def _get(d: dict[str, Any], *names: str) -> Any:
    for n in names:
        if "." in n:
            head, tail = n.split(".", 1)
            inner = d.get(head)
            if isinstance(inner, dict) and (v := _get(inner, tail)) is not None:
                return v
        elif d.get(n) is not None:
            return d[n]
    return None


def _number(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _interval(d: dict[str, Any], *duration_names: str):
    """(start, end, duration ms) of a step or span; the end is derived from start + duration if absent."""
    start = parse_time(_get(d, "start_time", "started_at", "start", "timestamp"))
    end = parse_time(_get(d, "end_time", "ended_at", "end"))
    dur = _number(_get(d, *duration_names))
    if end is None and start is not None and dur is not None:
        end = parse_time(start.timestamp() + dur / 1000)
    return start, end, dur


def read(files: list[Path], source: str) -> Parsed:
    out = Parsed(source)
    for path in files:
        if path.suffix == ".parquet":
            records = _parquet_records(path, out)
        else:
            records = jsonl_records(path, out)
        for where, rec in records:
            trace_id = str(rec.get("trace_id") or f"{path.name}:{where}")
            out.add_trace(str(path), where, trace_id, lambda r=rec, t=trace_id: _trace(r, source, t))
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
                rec[col] = orjson.loads(text) if text else rec.get(col)
        except orjson.JSONDecodeError as exc:
            out.reject(str(path), f"row {i}", f"invalid JSON in {col}_json: {exc}")
            continue
        yield f"row {i}", rec


def _trace(rec: dict[str, Any], source: str, trace_id: str):
    steps = rec.get("llm_steps") or []
    raw_spans = rec.get("spans") or []
    if not isinstance(steps, list) or not isinstance(raw_spans, list):
        raise TypeError("llm_steps and spans must be lists")
    model = rec.get("model")
    turns: list[dict] = []
    starts, ends = [], []
    for i, st in enumerate(steps):
        if not isinstance(st, dict):
            raise TypeError(f"llm_steps[{i}] is not an object")
        start, end, dur = _interval(st, "duration_ms", "latency_ms")
        try:
            prompt = nonneg_int(_get(st, "prompt_tokens", "input_tokens", "usage.prompt_tokens", "usage.input_tokens"))
            completion = nonneg_int(_get(st, "completion_tokens", "output_tokens", "usage.completion_tokens",
                                         "usage.output_tokens"))
            cached = nonneg_int(_get(st, "cached_tokens", "usage.prompt_tokens_details.cached_tokens"))
        except ValueError as exc:
            raise ValueError(f"llm_steps[{i}]: {exc}") from None
        calls = _get(st, "tool_calls", "parsed_tool_calls") or []
        turns.append(turn(source, trace_id, i, model=_get(st, "model") or model, started_at=start,
                          prompt_tokens=prompt, completion_tokens=completion, cached_tokens=cached,
                          llm_latency_ms=ms_between(start, end) if end else dur,
                          gap_before_ms=ms_between(ends[-1], start) if (i and ends and ends[-1]) else None,
                          n_tool_calls=len(calls) if isinstance(calls, list) else 0))
        starts.append(start)
        ends.append(end)
    spans: list[dict] = []
    for j, sp in enumerate(raw_spans):
        if not isinstance(sp, dict):
            raise TypeError(f"spans[{j}] is not an object")
        s_start, s_end, dur = _interval(sp, "duration_ms", "wall_time_ms")
        ti = _get(sp, "step_index", "llm_step", "step")
        if not isinstance(ti, int) or not 0 <= ti < len(turns):
            ti = max((k for k, st in enumerate(starts) if st is not None and s_start is not None and st <= s_start),
                     default=None)
        res = _get(sp, "resources", "resource_usage", "telemetry") or {}
        code = _get(sp, "exit_code", "returncode")
        rss = _number(_get(res, "peak_rss_bytes", "max_rss_bytes", "peak_rss"))
        rd, wr = _number(_get(res, "disk_read_bytes", "read_bytes")), _number(_get(res, "disk_write_bytes", "write_bytes"))
        spans.append(span(source, trace_id, j, turn_index=ti, tool_name=_get(sp, "tool_name", "name"),
                          started_at=s_start, ended_at=s_end, duration_ms=dur,
                          exit_code=code if isinstance(code, int) and not isinstance(code, bool) else None,
                          is_error=(code != 0) if isinstance(code, int) and not isinstance(code, bool) else None,
                          user_cpu_s=_number(_get(res, "user_cpu_s", "user_cpu_time_s", "cpu_user_s")),
                          system_cpu_s=_number(_get(res, "system_cpu_s", "system_cpu_time_s", "cpu_system_s")),
                          peak_rss_bytes=int(rss) if rss is not None else None,
                          disk_read_bytes=int(rd) if rd is not None else None,
                          disk_write_bytes=int(wr) if wr is not None else None))
        if ti is not None:
            d = spans[-1]["duration_ms"]
            if d is not None:
                turns[ti]["tool_time_ms"] = (turns[ti]["tool_time_ms"] or 0.0) + d
            if not turns[ti]["n_tool_calls"]:
                turns[ti]["n_tool_calls"] = sum(1 for s in spans if s["turn_index"] == ti)
    return turns, spans
