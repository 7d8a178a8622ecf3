"""mini-swe-agent trajectories (``*.traj.json``, format ``mini-swe-agent-1.1``) → canonical turns and tool spans.

A turn is an assistant message with ``extra.response.usage``. Its response arrived at ``extra.timestamp``;
its request left when the previous tool message finished (``extra.timestamp`` of the last tool message
before it), so ``llm_latency_ms`` = response − request and ``gap_before_ms`` = request − previous response
(the tool round-trip). Tool messages after a turn are its tool spans (bash commands, with return codes).
"""

from __future__ import annotations

from datetime import datetime
from functools import partial
from pathlib import Path

from agenttrace_pipeline.sources.canonical import RECORD_ERRORS, Parsed, load_json, ms_between, open_records, span, turn
from agenttrace_pipeline.sources.fields import Node, RecordError

FORMAT = "mini_swe_agent"


def _usage(msg: Node) -> Node | None:
    return msg.node_or_empty("extra").node_or_empty("response").node("usage")


def read(files: list[Path], source: str) -> Parsed:
    """One record per trajectory file; a turn's ``record`` is its message (``messages[5]``)."""
    out = Parsed(source)
    for path in files:
        out.records_in += 1
        try:
            with open_records(path) as fh:
                data = Node(load_json(fh.read()))
            if not data.has("messages"):
                raise RecordError("messages", "missing: not a mini-swe-agent trajectory")
            messages = data.nodes("messages")
            trace_id = data.ident("instance_id") or path.name.removesuffix(".traj.json")
            info = data.node_or_empty("info")
            model = info.node_or_empty("config").node_or_empty("model").text("model_name")
            status = info.text("exit_status")
        except OSError as exc:
            out.reject(str(path), "file", f"cannot read: {exc.strerror or exc}")
            continue
        except RECORD_ERRORS as exc:
            whole = not isinstance(exc, RecordError) or not exc.field  # e.g. invalid JSON
            out.reject_error(str(path), "file", exc, "not a mini-swe-agent trajectory: " if whole else "")
            continue
        out.add_trace(str(path), "file", trace_id, partial(_trajectory, messages, source, trace_id, model),
                      empty_reason=f"no LLM call recorded (exit status: {status})")
    return out


def _trajectory(messages: list[Node], source: str, trace_id: str, model: str | None):
    turns: list[dict] = []
    spans: list[dict] = []
    last_response: datetime | None = None  # when the previous assistant response arrived
    last_tool_end: datetime | None = None  # when the latest tool message finished
    for msg in messages:
        role = msg.raw("role")
        extra = msg.node_or_empty("extra")
        if role == "assistant":
            usage = _usage(msg)
            if usage is None:
                continue
            ended = extra.time("timestamp")
            started = last_tool_end if turns else None
            details = usage.node_or_empty("prompt_tokens_details")
            prompt, completion = usage.tokens("prompt_tokens"), usage.tokens("completion_tokens")
            if prompt is None or completion is None:
                raise RecordError(usage.path, "usage without prompt_tokens/completion_tokens")
            actions = extra.list("actions") or msg.list("tool_calls")
            turns.append(turn(
                source, trace_id, len(turns), model=extra.node_or_empty("response").text("model") or model,
                started_at=started, prompt_tokens=prompt, completion_tokens=completion,
                cached_tokens=details.tokens("cached_tokens") if details.has("cached_tokens")
                else usage.tokens("prompt_cache_hit_tokens"),
                llm_latency_ms=ms_between(started, ended), gap_before_ms=ms_between(last_response, started),
                n_tool_calls=len(actions), tool_time_ms=None, record=msg.path,
            ))
            last_response = ended
        elif role == "tool" and turns:
            ended = extra.time("timestamp")
            begun = last_tool_end if (last_tool_end and last_response and last_tool_end > last_response) else last_response
            code = extra.integer("returncode")
            spans.append(span(source, trace_id, len(spans), turn_index=len(turns) - 1, tool_name="bash",
                              started_at=begun, ended_at=ended, exit_code=code,
                              is_error=bool(code) if code is not None else None))
            last_tool_end = ended
            t = turns[-1]
            d = ms_between(begun, ended)
            if d is not None:
                t["tool_time_ms"] = (t["tool_time_ms"] or 0.0) + d
    return turns, spans
