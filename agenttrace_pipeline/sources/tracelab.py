"""TraceLab normalized rounds (``round_trace.jsonl``) → canonical turns and tool spans.

One row per round (LLM call): ``input_tokens_total`` is the prompt, ``prefix_tokens`` the cached part,
``output_tokens`` (+ ``reasoning_output_tokens``) the completion. The request left at the round's last
input event (user message or tool result) before its first assistant event; the response ended at its
last assistant event. ``tools[]`` carry emitted/result times and wall latencies. A prompt that shrinks
right after a round with reasoning is marked ``context_reset`` (providers drop earlier reasoning).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from agenttrace_pipeline.sources.canonical import RECORD_ERRORS, Parsed, jsonl_records, ms_between, span, turn
from agenttrace_pipeline.sources.fields import Node, RecordError

FORMAT = "tracelab"
_INPUT_EVENTS = {"user_message", "tool_result"}
_OUTPUT_EVENTS = {"reasoning", "text", "tool_call"}


@dataclass
class _Round:
    """One validated round row, before its session is assembled."""

    file: str
    line: int
    session: str
    index: int
    model: str | None
    prompt: int | None
    completion: int
    cached: int | None
    start: datetime | None
    end: datetime | None
    reasoned: bool
    tools: list[dict[str, Any]]  # tool name, emitted, result, wall ms, is_error


def _round(r: Node, file: str, line: int) -> _Round:
    sid, idx = r.raw("session_id"), r.raw("round_index")
    if not isinstance(sid, str):
        raise RecordError("session_id", f"expected a string, got {sid!r}")
    if not isinstance(idx, int) or isinstance(idx, bool) or idx < 0:
        raise RecordError("round_index", f"expected an integer >= 0, got {idx!r}")
    events = [(e.time("timestamp"), e.raw("event_type")) for e in r.nodes("timing_events")]
    first_out = min((t for t, k in events if k in _OUTPUT_EVENTS and t), default=None)
    tools = [{"tool_name": t.ident("tool_name"), "emitted": t.time("emitted_at"), "result": t.time("result_at"),
              "wall": t.number("tool_wall_latency_ms"), "is_error": t.raw("is_error")} for t in r.nodes("tools")]
    return _Round(
        file, line, sid, idx, r.text("model"), r.tokens("input_tokens_total"),
        (r.tokens("output_tokens") or 0) + (r.tokens("reasoning_output_tokens") or 0), r.tokens("prefix_tokens"),
        # the request left at the last input event before the first output event; the response ended at the last
        start=max((t for t, k in events if k in _INPUT_EVENTS and t and (first_out is None or t <= first_out)), default=None),
        end=max((t for t, k in events if k in _OUTPUT_EVENTS and t), default=None),
        reasoned=any(k == "reasoning" for _, k in events), tools=tools)


def read(files: list[Path], source: str) -> Parsed:
    out = Parsed(source)
    rounds: list[_Round] = []
    for path in files:
        for line_no, r in jsonl_records(path, out):
            try:
                rounds.append(_round(Node(r), str(path), line_no))
            except RECORD_ERRORS as exc:
                out.reject_error(str(path), line_no, exc)
                continue
            out.accept(str(path), line_no, rounds[-1].session)
    rounds.sort(key=lambda x: (x.session, x.index))
    turns_of: Counter[str] = Counter()
    spans_of: Counter[str] = Counter()
    prev: dict[str, _Round] = {}
    for rd in rounds:
        sid = rd.session
        ti = turns_of[sid]
        for t in rd.tools:
            out.spans.append(span(source, sid, spans_of[sid], turn_index=ti, tool_name=t["tool_name"],
                                  started_at=t["emitted"], ended_at=t["result"], duration_ms=t["wall"],
                                  is_error=t["is_error"] if isinstance(t["is_error"], bool) else None))
            spans_of[sid] += 1
        walls = [t["wall"] for t in rd.tools if t["wall"] is not None]
        # Both providers drop earlier reasoning from later prompts (Anthropic strips previous thinking blocks,
        # OpenAI does not carry reasoning items over): a prompt that shrinks right after a round with
        # reasoning is that documented change of context, not a broken trace.
        before = prev.get(sid)
        shrank = rd.prompt is not None and before is not None and before.prompt is not None and rd.prompt < before.prompt
        out.turns.append(turn(
            source, sid, ti, model=rd.model, started_at=rd.start, prompt_tokens=rd.prompt,
            completion_tokens=rd.completion, cached_tokens=rd.cached, llm_latency_ms=ms_between(rd.start, rd.end),
            gap_before_ms=ms_between(before.end, rd.start) if before else None,
            tool_time_ms=sum(walls) if walls else None, n_tool_calls=len(rd.tools),
            context_reset=shrank and before is not None and before.reasoned, file=rd.file, record=str(rd.line),
        ))
        turns_of[sid] += 1
        prev[sid] = rd
    return out
