"""mini-swe-agent trajectories (``*.traj.json``, format ``mini-swe-agent-1.1``) → canonical turns and tool spans.

A turn is an assistant message with ``extra.response.usage``. Its response arrived at ``extra.timestamp``;
its request left when the previous tool message finished (``extra.timestamp`` of the last tool message
before it), so ``llm_latency_ms`` = response − request and ``gap_before_ms`` = request − previous response
(the tool round-trip). Tool messages after a turn are its tool spans (bash commands, with return codes).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from agenttrace_pipeline.sources.canonical import Parsed, ms_between, nonneg_int, parse_time, span, turn

FORMAT = "mini_swe_agent"


def _usage(msg: dict[str, Any]) -> dict[str, Any] | None:
    resp = (msg.get("extra") or {}).get("response") or {}
    usage = resp.get("usage")
    return usage if isinstance(usage, dict) else None


def read(files: list[Path], source: str) -> Parsed:
    out = Parsed(source)
    for path in files:
        out.records_in += 1
        try:
            data = orjson.loads(path.read_bytes())
            messages = data["messages"]
            if not isinstance(messages, list):
                raise TypeError("messages is not a list")
        except (OSError, orjson.JSONDecodeError, KeyError, TypeError) as exc:
            out.reject(str(path), "file", f"not a mini-swe-agent trajectory: {type(exc).__name__}: {exc}")
            continue
        trace_id = str(data.get("instance_id") or path.name.removesuffix(".traj.json"))
        model = ((data.get("info") or {}).get("config") or {}).get("model", {}).get("model_name")
        status = (data.get("info") or {}).get("exit_status")
        if not any(m.get("role") == "assistant" and _usage(m) for m in messages if isinstance(m, dict)):
            out.reject(str(path), trace_id, f"no LLM call recorded (exit status: {status})")
            continue
        out.add_trace(str(path), trace_id, trace_id, lambda m=messages, t=trace_id: _trajectory(m, source, t, model))
    return out


def _trajectory(messages: list[dict], source: str, trace_id: str, model: str | None):
    turns: list[dict] = []
    spans: list[dict] = []
    last_response = None  # when the previous assistant response arrived
    last_tool_end = None  # when the latest tool message finished
    for pos, msg in enumerate(messages):
        role = msg.get("role")
        extra = msg.get("extra") or {}
        if role == "assistant":
            usage = _usage(msg)
            if usage is None:
                continue
            ended = parse_time(extra.get("timestamp"))
            started = last_tool_end if turns else None
            details = usage.get("prompt_tokens_details") or {}
            cached = details.get("cached_tokens", usage.get("prompt_cache_hit_tokens"))
            try:
                prompt, completion = nonneg_int(usage.get("prompt_tokens")), nonneg_int(usage.get("completion_tokens"))
                cached = nonneg_int(cached)
            except ValueError as exc:
                raise ValueError(f"message {pos}: {exc}") from None
            if prompt is None or completion is None:
                raise ValueError(f"message {pos}: usage without prompt_tokens/completion_tokens")
            actions = extra.get("actions") or msg.get("tool_calls") or []
            turns.append(turn(
                source, trace_id, len(turns),
                model=((extra.get("response") or {}).get("model") or model),
                started_at=started, prompt_tokens=prompt, completion_tokens=completion, cached_tokens=cached,
                llm_latency_ms=ms_between(started, ended), gap_before_ms=ms_between(last_response, started),
                n_tool_calls=len(actions), tool_time_ms=None,
            ))
            last_response = ended
        elif role == "tool" and turns:
            ended = parse_time(extra.get("timestamp"))
            begun = last_tool_end if (last_tool_end and last_response and last_tool_end > last_response) else last_response
            code = extra.get("returncode")
            spans.append(span(source, trace_id, len(spans), turn_index=len(turns) - 1, tool_name="bash",
                              started_at=begun, ended_at=ended, exit_code=code if isinstance(code, int) else None,
                              is_error=bool(code) if isinstance(code, int) else None))
            last_tool_end = ended
            t = turns[-1]
            d = ms_between(begun, ended)
            if d is not None:
                t["tool_time_ms"] = (t["tool_time_ms"] or 0.0) + d
    return turns, spans
