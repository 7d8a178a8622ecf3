"""Canonical turns of made-up agent sessions whose shape is known, for fitting tests."""

from __future__ import annotations

import numpy as np
import polars as pl

from agenttrace_pipeline.sources.canonical import TURN_SCHEMA


def agent_turns(source: str, sessions: int, *, seed: int = 0, model: str = "deepseek-chat", prefix: int = 320,
                human_every: int = 0, snapshot_every: int = 0, tool_counts: bool = True) -> pl.DataFrame:
    """``sessions`` traces of 5–60 turns: turn-0 prompt = ``prefix`` (cached, shared) + ~1,200 own tokens,
    lognormal new input, output and gaps. Every ``human_every``-th turn calls no tools (so the gap after it
    is a human one, ~40 s); every ``snapshot_every``-th turn is a streaming usage snapshot with 2 output
    tokens logged. ``tool_counts`` False leaves n_tool_calls unknown."""
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(sessions):
        turns = int(np.clip(rng.lognormal(np.log(20), 0.5), 5, 60))
        prompt = prefix + int(rng.lognormal(np.log(1200), 0.2))
        completion = 0
        for t in range(turns):
            tools = 0 if human_every and t % human_every == human_every - 1 else 1
            snapshot = bool(snapshot_every) and t % snapshot_every == snapshot_every - 1
            new = int(rng.lognormal(np.log(400), 1.0)) + 1 if t else None
            if t:
                prompt += completion + new
            completion = 2 if snapshot else int(rng.lognormal(np.log(90), 0.6)) + 1
            human_gap = t and rows[-1]["n_tool_calls"] == 0
            gap = (rng.lognormal(np.log(40000), 0.5) if human_gap else rng.lognormal(np.log(300), 0.8)) if t else None
            rows.append({"source": source, "trace_id": f"{source}-{s}", "turn_index": t, "model": model,
                         "started_at": None, "prompt_tokens": prompt, "completion_tokens": completion,
                         "cached_tokens": prefix if t == 0 else None, "new_input_tokens": new, "llm_latency_ms": 4000.0,
                         "gap_before_ms": gap, "tool_time_ms": None, "n_tool_calls": tools if tool_counts else None,
                         "context_reset": False, "usage_snapshot": snapshot, "file": None, "record": None})
    return pl.DataFrame(rows, schema=TURN_SCHEMA)
