"""Broken records are quarantined with file, record and reason; valid records beside them are kept."""

from __future__ import annotations

import json
from pathlib import Path

from agenttrace_pipeline.sources import agenttrace, arrival_traces, claude_code, mini_swe_agent, openhands, tracelab

SAMPLES = Path(__file__).resolve().parents[2] / "assets_config" / "samples" / "sources"


def _reasons(p) -> dict[str, str]:
    assert p.records_in == p.records_accepted + len(p.quarantine)
    return {q["record"]: q["reason"] for q in p.quarantine}


def _fields(p) -> dict[str, str]:
    return {q["record"]: q["field"] for q in p.quarantine}


def test_agenttrace_bad_lines(tmp_path: Path):
    good = (SAMPLES / "agenttrace" / "agenttrace_sample.jsonl").read_text().splitlines()
    neg = json.loads(good[0])
    neg["llm_steps"][0]["prompt_tokens"] = -5
    f = tmp_path / "t.jsonl"
    f.write_text("\n".join([good[1], "{not json", json.dumps(neg), "[1, 2]", good[2]]) + "\n")
    p = agenttrace.read([f], "at")
    r = _reasons(p)
    assert p.records_accepted == 2 and set(r) == {"2", "3", "4"}
    assert r["2"].startswith("invalid JSON") and "negative token count -5" in r["3"] and "JSON object" in r["4"]
    assert _fields(p)["3"] == "llm_steps[0].prompt_tokens"


def test_mini_swe_agent_bad_files(tmp_path: Path):
    (tmp_path / "broken.traj.json").write_text("{")
    (tmp_path / "empty.traj.json").write_text(json.dumps({"messages": [{"role": "system", "content": "x"}],
                                                         "info": {"exit_status": "Timeout"}}))
    p = mini_swe_agent.read(sorted(tmp_path.glob("*.traj.json")) + sorted((SAMPLES / "mini_swe_agent").glob("*.json")), "m")
    assert p.records_accepted == 2 and len(p.quarantine) == 2
    assert any("not a mini-swe-agent trajectory: invalid JSON" in q["reason"] for q in p.quarantine)
    assert any(q["reason"] == "empty: no LLM call recorded (exit status: Timeout)" for q in p.quarantine)


def test_claude_code_bad_records(tmp_path: Path):
    lines = (SAMPLES / "claude_code" / "trace.jsonl").read_text().splitlines()
    bad_ts = json.loads(lines[1])
    bad_ts["timestamp"] = "yesterday"
    f = tmp_path / "trace.jsonl"
    f.write_text("\n".join([lines[0], json.dumps(bad_ts), "oops", *lines[2:]]) + "\n")
    p = claude_code.read([f], "cc")
    r = _reasons(p)
    assert "unparsable timestamp 'yesterday'" in r["2"] and r["3"].startswith("invalid JSON")
    assert _fields(p)["2"] == "timestamp"
    assert p.turns_frame().height >= 4


def test_openhands_tracelab_and_arrivals_bad_rows(tmp_path: Path):
    oh = tmp_path / "oh.jsonl"
    oh.write_text('{"instance_id": "x", "metrics": {"token_usages": [{"prompt_tokens": "many"}]}}\n')
    p = openhands.read_v0([oh], "o")
    assert "expected a token count, got a string 'many'" in _reasons(p)["1"]
    assert _fields(p)["1"] == "metrics.token_usages[0].prompt_tokens"
    tl = tmp_path / "tl.jsonl"
    tl.write_text('{"session_id": "s", "round_index": -1}\n')
    p = tracelab.read([tl], "t")
    assert "expected an integer >= 0, got -1" in _reasons(p)["1"] and _fields(p)["1"] == "round_index"
    az = tmp_path / "az.csv"
    az.write_text("TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:17:03.9799600,100,5\nnot a time,1,1\n"
                  "2023-11-16 18:17:04.0000000,-3,1\n")
    p = arrival_traces.read_azure([az], "a")
    assert p.records_accepted == 1 and set(_reasons(p)) == {"3", "4"}
    assert _fields(p) == {"3": "TIMESTAMP", "4": "ContextTokens"}
    mc = tmp_path / "mc.jsonl"
    mc.write_text('{"timestamp": 0, "input_length": 10, "output_length": 1}\n{"timestamp": -1, "input_length": 5, "output_length": 1}\n')
    assert set(_reasons(arrival_traces.read_mooncake([mc], "m"))) == {"2"}
