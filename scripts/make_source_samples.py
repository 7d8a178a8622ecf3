"""Regenerate assets_config/samples/sources/: small traces of our own in every source format.

They are what the pipeline ingests when ../shared/data (or the network, for AgentTrace) is absent, and
they are test fixtures. Deterministic; run ``uv run python scripts/make_source_samples.py``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "assets_config" / "samples" / "sources"
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
rng = np.random.default_rng(2026)


def iso(t: datetime, z: bool = True) -> str:
    s = t.isoformat(timespec="milliseconds")
    return s.replace("+00:00", "Z") if z else s.replace("+00:00", "")


def agenttrace() -> None:
    rows = []
    for k in range(4):
        t = T0 + timedelta(minutes=10 * k)
        steps, spans, prompt = [], [], 900 + 40 * k
        for i in range(3 + k % 2):
            dur = float(rng.integers(300, 2500))
            comp = int(rng.integers(20, 200))
            steps.append({"step_index": i, "start_time": iso(t), "end_time": iso(t + timedelta(milliseconds=dur)),
                          "prompt_tokens": prompt, "completion_tokens": comp,
                          "tool_calls": [{"name": "python_interpreter"}] if i < 2 else []})
            t += timedelta(milliseconds=dur)
            prompt += comp
            if i < 2:
                tool = float(rng.integers(20, 900))
                spans.append({"tool_name": "python_interpreter", "step_index": i, "start_time": iso(t),
                              "end_time": iso(t + timedelta(milliseconds=tool)), "exit_code": int(i == 1 and k == 2),
                              "resources": {"user_cpu_time_s": round(tool / 2000, 3), "system_cpu_time_s": 0.01,
                                            "peak_rss_bytes": int(rng.integers(20, 90)) << 20,
                                            "disk_read_bytes": 4096, "disk_write_bytes": 0}})
                t += timedelta(milliseconds=tool)
                prompt += int(rng.integers(30, 400))
        rows.append({"trace_id": f"sample-{k}", "timestamp_utc": iso(T0 + timedelta(minutes=10 * k)),
                     "prompt": "Write a function that …", "model": "Qwen/Qwen3-0.6B", "total_duration_ms": 0,
                     "spans": spans, "llm_steps": steps, "metadata": {"dataset": "mbpp", "task_id": k}})
    write_jsonl(OUT / "agenttrace" / "agenttrace_sample.jsonl", rows)


def mini_swe_agent() -> None:
    for k in range(2):
        t = 1767600000.0 + 3600 * k
        msgs = [{"role": "system", "content": "You are a helpful assistant."}, {"role": "user", "content": "Fix the bug."}]
        prompt = 1500
        for i in range(5):
            t += float(rng.uniform(1.5, 6))
            comp = int(rng.integers(40, 160))
            msgs.append({"role": "assistant", "content": "THOUGHT …", "extra": {
                "actions": [{"command": "ls"}], "timestamp": t,
                "response": {"id": f"r{k}{i}", "created": int(t) - 3, "model": "deepseek-chat",
                             "usage": {"prompt_tokens": prompt, "completion_tokens": comp,
                                       "prompt_tokens_details": {"cached_tokens": max(prompt - 300, 0)}}}}})
            t += float(rng.uniform(0.05, 1.0))
            msgs.append({"role": "tool", "content": "ok", "extra": {"returncode": 0, "timestamp": t}})
            prompt += comp + int(rng.integers(50, 900))
        d = OUT / "mini_swe_agent"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"sample__task-{k}.traj.json").write_text(json.dumps(
            {"trajectory_format": "mini-swe-agent-1.1", "instance_id": f"sample__task-{k}", "messages": msgs,
             "info": {"config": {"model": {"model_name": "deepseek/deepseek-chat"}}}}))


def openhands() -> None:
    t = T0
    history, usages, lats = [], [], []
    eid = 0
    prompt = 5000
    for i in range(6):
        rid = f"gen-{i}"
        lat = float(rng.uniform(1.0, 4.0))
        t += timedelta(seconds=lat)
        history.append({"id": eid, "timestamp": iso(t, z=False), "source": "agent", "action": "run",
                        "tool_call_metadata": {"function_name": "execute_bash", "model_response": {"id": rid}}})
        t += timedelta(seconds=float(rng.uniform(0.1, 2.0)))
        history.append({"id": eid + 1, "timestamp": iso(t, z=False), "source": "agent", "cause": eid, "observation": "run",
                        "extras": {"metadata": {"exit_code": 0}}})
        eid += 2
        comp = int(rng.integers(40, 200))
        usages.append({"model": "sample-model", "prompt_tokens": prompt, "completion_tokens": comp,
                       "cache_read_tokens": 0, "cache_write_tokens": 0, "response_id": rid})
        lats.append({"model": "sample-model", "latency": lat, "response_id": rid})
        prompt += comp + int(rng.integers(100, 700))
    write_jsonl(OUT / "openhands_v0" / "output.jsonl", [{"instance_id": "sample/repo-1", "history": history,
                                                         "metrics": {"token_usages": usages, "response_latencies": lats}}])
    t = T0
    ev = []
    for i in range(5):
        t += timedelta(seconds=float(rng.uniform(1, 3)))
        ev.append({"kind": "ActionEvent", "id": f"a{i}", "timestamp": iso(t, z=False), "source": "agent",
                   "tool_name": "execute_bash", "tool_call_id": f"c{i}", "llm_response_id": f"chatcmpl-{i}"})
        t += timedelta(seconds=float(rng.uniform(0.1, 1.5)))
        ev.append({"kind": "ObservationEvent", "id": f"o{i}", "timestamp": iso(t, z=False), "source": "environment",
                   "tool_name": "execute_bash", "tool_call_id": f"c{i}", "action_id": f"a{i}"})
    write_jsonl(OUT / "openhands_v1" / "output.jsonl", [{"instance_id": "sample-task", "history": ev, "metrics": None}])


def claude_code() -> None:
    """One session as Claude Code logs it: records linked by parentUuid, one line per content block, then a
    sub-agent side chain that starts at its own root."""
    t = T0
    sid = "5a1f0000-0000-4000-8000-000000000001"
    lines, calls = [], []
    base = {"sessionId": sid, "userType": "external", "version": "2.1.0"}

    def add(rec: dict) -> None:
        if "parentUuid" not in rec:
            rec = {"parentUuid": lines[-1]["uuid"], **rec}
        lines.append({**base, **rec})

    add({"type": "user", "uuid": "u0", "parentUuid": None, "timestamp": iso(t),
         "message": {"role": "user", "content": "Add a --verbose flag"}})
    cached = 18000
    for i in range(4):
        mid = f"msg_{i:03d}"
        t += timedelta(seconds=float(rng.uniform(2, 8)))
        usage = {"input_tokens": int(rng.integers(3, 900)), "cache_read_input_tokens": cached,
                 "cache_creation_input_tokens": int(rng.integers(200, 1500)), "output_tokens": int(rng.integers(50, 600))}
        for block in ("thinking", "text", "tool_use"):
            item = {"type": block}
            if block == "tool_use":
                item.update(id=f"toolu_{i}", name="Bash" if i % 2 else "Edit")
            add({"type": "assistant", "uuid": f"a{i}{block}", "timestamp": iso(t),
                 "message": {"id": mid, "model": "claude-sample", "role": "assistant", "content": [item],
                             "stop_reason": "tool_use", "usage": usage}})
            t += timedelta(milliseconds=int(rng.integers(100, 900)))
        start = t
        t += timedelta(milliseconds=int(rng.integers(50, 4000)))
        calls.append({"id": f"toolu_{i}", "tool": "Bash" if i % 2 else "Edit", "timestamp": iso(start), "end_timestamp": iso(t)})
        add({"type": "user", "uuid": f"r{i}", "timestamp": iso(t),
             "message": {"role": "user", "content": [{"type": "tool_result", "tool_use_id": f"toolu_{i}"}]}})
        cached += usage["cache_creation_input_tokens"] + usage["input_tokens"] + usage["output_tokens"]
    add({"type": "assistant", "isSidechain": True, "uuid": "s0", "parentUuid": None, "timestamp": iso(t),
         "message": {"id": "msg_side", "model": "claude-sample", "role": "assistant", "content": [{"type": "text"}],
                     "stop_reason": "end_turn", "usage": {"input_tokens": 5000, "output_tokens": 80}}})
    d = OUT / "claude_code"
    write_jsonl(d / "trace.jsonl", lines)
    (d / "tool_calls.json").write_text(json.dumps(calls, indent=1))
    (d / "resources.json").write_text(json.dumps(
        [{"timestamp": iso(T0 + timedelta(seconds=s)), "rss_bytes": (200 + s) << 20, "cpu_user_s": s * 0.3,
          "cpu_system_s": s * 0.05} for s in range(0, 90, 2)], indent=1))


def tracelab() -> None:
    rows, t, prompt = [], T0, 9000
    for i in range(4):
        start = t
        t += timedelta(seconds=float(rng.uniform(2, 6)))
        emitted = t
        t += timedelta(milliseconds=int(rng.integers(100, 3000)))
        out = int(rng.integers(40, 400))
        rows.append({"provider": "claude", "session_id": "claude:sample-1", "round_index": i, "model": "claude-sample",
                     "input_tokens_total": prompt, "prefix_tokens": prompt - 400, "output_tokens": out,
                     "reasoning_output_tokens": None,
                     "timing_events": [{"event_type": "user_message" if i == 0 else "tool_result", "timestamp": iso(start)},
                                       {"event_type": "text", "timestamp": iso(emitted - timedelta(milliseconds=50))},
                                       {"event_type": "tool_call", "timestamp": iso(emitted)}],
                     "tools": [{"tool_name": "Bash", "emitted_at": iso(emitted), "result_at": iso(t),
                                "tool_wall_latency_ms": int((t - emitted).total_seconds() * 1000), "is_error": False}]})
        prompt += out + int(rng.integers(50, 600))
    write_jsonl(OUT / "tracelab" / "round_trace.jsonl", rows)


def azure() -> None:
    d = OUT / "azure"
    d.mkdir(parents=True, exist_ok=True)
    t = datetime(2023, 11, 16, 18, 17, 3)
    lines = ["TIMESTAMP,ContextTokens,GeneratedTokens"]
    for _ in range(60):
        t += timedelta(microseconds=int(rng.exponential(400_000)))
        lines.append(f"{t:%Y-%m-%d %H:%M:%S.%f}0,{int(rng.lognormal(7.2, 0.9))},{int(rng.lognormal(3, 1.2)) + 1}")
    (d / "azure_sample.csv").write_text("\n".join(lines) + "\n")


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


if __name__ == "__main__":
    for make in (agenttrace, mini_swe_agent, openhands, claude_code, tracelab, azure):
        make()
    print(f"wrote samples under {OUT}")
