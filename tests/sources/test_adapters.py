"""Each adapter on our bundled samples (always) and on the real data in ../shared/data (when present)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from agenttrace_pipeline.sources import agenttrace, arrival_traces, claude_code, mini_swe_agent, openhands, tracelab
from agenttrace_pipeline.sources.checks import failures, turns_schema

SAMPLES = Path(__file__).resolve().parents[2] / "assets_config" / "samples" / "sources"


def _valid(parsed) -> pl.DataFrame:
    t = parsed.turns_frame()
    turns_schema().validate(t, lazy=True)
    assert all(f.height == 0 for f in failures(t).values())
    assert parsed.records_in == parsed.records_accepted + len(parsed.quarantine)
    assert t["file"].null_count() == 0 and t["record"].null_count() == 0  # every turn says where it came from
    return t


def test_agenttrace_jsonl_and_parquet_view_agree(tmp_path: Path):
    jsonl = SAMPLES / "agenttrace" / "agenttrace_sample.jsonl"
    a = _valid(agenttrace.read([jsonl], "at"))
    assert a["trace_id"].n_unique() == 4 and a.height == 14
    first = a.filter((pl.col("trace_id") == "sample-1") & (pl.col("turn_index") == 1)).row(0, named=True)
    prev = a.filter((pl.col("trace_id") == "sample-1") & (pl.col("turn_index") == 0)).row(0, named=True)
    assert first["new_input_tokens"] == first["prompt_tokens"] - prev["prompt_tokens"] - prev["completion_tokens"]
    assert first["gap_before_ms"] > 0 and prev["tool_time_ms"] == pytest.approx(first["gap_before_ms"], abs=1)
    spans = agenttrace.read([jsonl], "at").spans_frame()
    assert spans["peak_rss_bytes"].min() > 0 and spans["user_cpu_s"].null_count() == 0 and (spans["exit_code"] == 1).sum() == 1
    # the Hugging Face parquet view: the same records with *_json string columns
    import orjson

    rows = [orjson.loads(x) for x in jsonl.read_bytes().splitlines()]
    view = pl.DataFrame([{**{k: v for k, v in r.items() if k not in ("spans", "llm_steps", "metadata")},
                          "spans_json": orjson.dumps(r["spans"]).decode(), "llm_steps_json": orjson.dumps(r["llm_steps"]).decode(),
                          "metadata_json": orjson.dumps(r["metadata"]).decode()} for r in rows])
    view.write_parquet(tmp_path / "agenttrace.parquet")
    b = _valid(agenttrace.read([tmp_path / "agenttrace.parquet"], "at"))
    where = ["source", "file", "record"]  # the same rows, read from another file
    assert a.drop(where).equals(b.drop(where))
    assert b["record"].to_list()[:1] == ["row 0"] and a["record"].to_list()[:1] == ["1"]


def test_agenttrace_tolerates_missing_optional_fields(tmp_path: Path):
    f = tmp_path / "minimal.jsonl"
    f.write_text('{"trace_id": "t1", "llm_steps": [{"output": "hi"}, {"output": "again"}], "spans": [{"tool_name": "x"}]}\n')
    t = _valid(agenttrace.read([f], "at"))
    assert t.height == 2 and t["prompt_tokens"].null_count() == 2


def test_mini_swe_agent_sample_timing():
    p = mini_swe_agent.read(sorted((SAMPLES / "mini_swe_agent").glob("*.traj.json")), "msa")
    t = _valid(p)
    assert t.height == 10 and t["cached_tokens"].null_count() == 0
    later = t.filter(pl.col("turn_index") > 0)
    assert (later["gap_before_ms"] > 0).all() and (later["llm_latency_ms"] > 0).all()
    assert p.spans_frame()["exit_code"].to_list() == [0] * 10


def test_claude_code_counts_a_multi_line_message_once_and_splits_side_chains():
    p = claude_code.read([SAMPLES / "claude_code" / "trace.jsonl"], "cc")
    t = _valid(p)
    main = t.filter(~pl.col("trace_id").str.contains(":sidechain:"))
    assert main.height == 4 and t.filter(pl.col("trace_id").str.ends_with(":sidechain:1")).height == 1
    assert main["record"].to_list() == ["2", "6", "10", "14"]  # the line of each call's first record
    assert (main["n_tool_calls"] == 1).all()
    spans = p.spans_frame()
    assert spans["peak_rss_bytes"].null_count() < spans.height  # resources.json samples attached
    assert set(spans["tool_name"]) == {"Bash", "Edit"}


def test_openhands_and_tracelab_samples():
    assert _valid(openhands.read_v0([SAMPLES / "openhands_v0" / "output.jsonl"], "oh")).height == 6
    v1 = _valid(openhands.read_v1([SAMPLES / "openhands_v1" / "output.jsonl"], "oh1"))
    assert v1.height == 5 and v1["prompt_tokens"].null_count() == 5  # timing only
    tl = _valid(tracelab.read([SAMPLES / "tracelab" / "round_trace.jsonl"], "tl"))
    assert tl.height == 4 and (tl["tool_time_ms"] > 0).all()


def test_arrival_samples():
    a = arrival_traces.read_azure([SAMPLES / "azure" / "azure_sample.csv"], "az").arrivals_frame()
    assert a.height == 60 and a["timestamp_ms"].min() == 0 and a["timestamp_ms"].is_sorted()


# --- real data (SOURCES.md gives the reference figures) -------------------------------------------


def test_real_mini_swe_agent_matches_sources_md(shared_data: Path):
    chat = mini_swe_agent.read(sorted((shared_data / "mini-swe-agent-deepseek" / "deepseek_chat_test_1-100").glob("*.traj.json")), "c")
    t = _valid(chat)
    assert (t["trace_id"].n_unique(), t.height) == (99, 7924)
    assert t["prompt_tokens"].median() == pytest.approx(19_600, rel=0.01) and t["prompt_tokens"].max() < 83_000
    assert t["completion_tokens"].median() == pytest.approx(90, abs=3)
    assert chat.spans_frame()["duration_ms"].median() == pytest.approx(250, abs=50)  # tool time ~0.25 s
    assert t["llm_latency_ms"].median() == pytest.approx(4000, rel=0.1)  # LLM time ~4 s
    reasoner = mini_swe_agent.read(sorted((shared_data / "mini-swe-agent-deepseek" / "deepseek_reasoner_dev").glob("*.traj.json")), "r")
    assert _valid(reasoner).height == 655 and reasoner.records_in == 15
    assert {q["reason"].split(": ", 1)[1] for q in reasoner.quarantine} <= {
        "no LLM call recorded (exit status: Timeout)", "no LLM call recorded (exit status: InternalServerError)"}


def test_real_openhands_matches_sources_md(shared_data: Path):
    v0 = _valid(openhands.read_v0([shared_data / "openhands-multi-swe-bench-example" / "output.jsonl"], "o"))
    assert sorted(v0.group_by("trace_id").len()["len"].to_list()) == [23, 33, 49]
    v1 = openhands.read_v1(sorted((shared_data / "openhands-openagentsafety").glob("*.jsonl")), "o1")
    assert v1.records_in == 47 and _valid(v1).height > 0


def test_real_claude_code_agrees_with_tracelab_rounds(shared_data: Path):
    cc = _valid(claude_code.read([shared_data / "tracelab-examples" / "claude" / "trace.json"], "cc"))
    tl = _valid(tracelab.read([shared_data / "tracelab-examples" / "sanitized" / "round_trace.jsonl"], "tl"))
    assert tl.height == 19
    claude_rounds = tl.filter(pl.col("trace_id").str.starts_with("claude:")).sort("turn_index")
    assert cc.sort("turn_index")["prompt_tokens"].to_list() == claude_rounds["prompt_tokens"].to_list()


def test_real_arrivals_match_sources_md(shared_data: Path):
    az = arrival_traces.read_azure(sorted((shared_data / "azure-llm-inference-2023").glob("*.csv")), "az").arrivals_frame()
    per = {Path(f).name: g for (f,), g in az.group_by("file")}
    code, conv = per["AzureLLMInferenceTrace_code.csv"], per["AzureLLMInferenceTrace_conv.csv"]
    assert (code.height, code["input_tokens"].median(), code["output_tokens"].median()) == (8819, 1469, 13)
    assert (conv.height, conv["input_tokens"].median(), conv["output_tokens"].median()) == (19366, 1020, 129)
    mc = arrival_traces.read_mooncake(sorted((shared_data / "mooncake").glob("*.jsonl")), "mc").arrivals_frame()
    assert mc.height == 12031 + 3993
