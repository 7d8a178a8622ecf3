"""TraceLab normalized rounds (``round_trace.jsonl``) → canonical turns and tool spans.

One row per round (LLM call): ``input_tokens_total`` is the prompt, ``prefix_tokens`` the cached part,
``output_tokens`` (+ ``reasoning_output_tokens``) the completion. The request left at the round's last
input event (user message or tool result) before its first assistant event; the response ended at its
last assistant event. ``tools[]`` carry emitted/result times and wall latencies. A prompt that shrinks
right after a round with reasoning is marked ``context_reset`` (providers drop earlier reasoning).
"""

from __future__ import annotations

from pathlib import Path

from agenttrace_pipeline.sources.canonical import Parsed, jsonl_records, ms_between, nonneg_int, parse_time, span, turn

FORMAT = "tracelab"
_INPUT_EVENTS = {"user_message", "tool_result"}
_OUTPUT_EVENTS = {"reasoning", "text", "tool_call"}


def read(files: list[Path], source: str) -> Parsed:
    out = Parsed(source)
    rows = []
    for path in files:
        for line_no, r in jsonl_records(path, out):
            try:
                sid, idx = r["session_id"], r["round_index"]
                if not isinstance(sid, str) or not isinstance(idx, int) or idx < 0:
                    raise ValueError(f"bad session_id/round_index {sid!r}/{idx!r}")
                prompt = nonneg_int(r.get("input_tokens_total"))
                completion = (nonneg_int(r.get("output_tokens")) or 0) + (nonneg_int(r.get("reasoning_output_tokens")) or 0)
                cached = nonneg_int(r.get("prefix_tokens"))
            except (KeyError, TypeError, ValueError) as exc:
                out.reject(str(path), line_no, f"{type(exc).__name__}: {exc}")
                continue
            rows.append((sid, idx, r, prompt, completion, cached))
            out.records_accepted += 1
    rows.sort(key=lambda x: (x[0], x[1]))
    prev_end: dict[str, object] = {}
    prev_prompt: dict[str, tuple[int | None, bool]] = {}
    for sid, idx, r, prompt, completion, cached in rows:
        events = sorted(((parse_time(e.get("timestamp")), e.get("event_type")) for e in r.get("timing_events") or []
                         if isinstance(e, dict)), key=lambda x: (x[0] is None, x[0]))
        first_out = next((t for t, k in events if k in _OUTPUT_EVENTS and t), None)
        start = max((t for t, k in events if k in _INPUT_EVENTS and t and (first_out is None or t <= first_out)),
                    default=None)
        end = max((t for t, k in events if k in _OUTPUT_EVENTS and t), default=None)
        tools = [t for t in r.get("tools") or [] if isinstance(t, dict)]
        ti = len([1 for x in out.turns if x["trace_id"] == sid])
        for t in tools:
            wall = t.get("tool_wall_latency_ms")
            out.spans.append(span(source, sid, sum(1 for s in out.spans if s["trace_id"] == sid), turn_index=ti,
                                  tool_name=t.get("tool_name"), started_at=parse_time(t.get("emitted_at")),
                                  ended_at=parse_time(t.get("result_at")),
                                  duration_ms=float(wall) if isinstance(wall, (int, float)) else None,
                                  is_error=t.get("is_error") if isinstance(t.get("is_error"), bool) else None))
        walls = [float(t["tool_wall_latency_ms"]) for t in tools if isinstance(t.get("tool_wall_latency_ms"), (int, float))]
        # Both providers drop earlier reasoning from later prompts (Anthropic strips previous thinking blocks,
        # OpenAI does not carry reasoning items over): a prompt that shrinks right after a round with
        # reasoning is that documented change of context, not a broken trace.
        before, reasoned = prev_prompt.get(sid, (None, False))
        shrank = prompt is not None and before is not None and prompt < before
        prev_prompt[sid] = (prompt, any(k == "reasoning" for _, k in events))
        out.turns.append(turn(
            source, sid, ti, model=r.get("model"), started_at=start, prompt_tokens=prompt,
            completion_tokens=completion, cached_tokens=cached, llm_latency_ms=ms_between(start, end),
            gap_before_ms=ms_between(prev_end.get(sid), start) if ti else None,
            tool_time_ms=sum(walls) if walls else None, n_tool_calls=len(tools), context_reset=shrank and reasoned,
        ))
        prev_end[sid] = end
    return out
