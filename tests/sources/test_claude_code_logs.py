"""Claude Code logs as they really are (issue 8 §2): API-error records, several sub-agent chains in one session,
and streaming usage snapshots — each from a fixture of that shape, through the adapter and the turn contract."""

from __future__ import annotations

import json
import math
from pathlib import Path

import polars as pl

from agenttrace_pipeline.sources import claude_code, contract
from agenttrace_pipeline.sources.checks import failures
from agenttrace_pipeline.sources.snapshots import CHARS_PER_TOKEN, content_chars

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sources" / "claude_code"


def _read(name: str):
    parsed = contract.enforce(claude_code.read([FIXTURES / name / "trace.jsonl"], "cc"))
    turns = parsed.turns_frame()
    assert parsed.records_in == parsed.records_accepted + len(parsed.quarantine)
    assert all(f.height == 0 for f in failures(turns).values())
    return parsed, turns


def test_api_error_records_are_counted_not_turns():
    parsed, turns = _read("api_errors")
    assert parsed.api_error_records == 1 and not parsed.quarantine and parsed.quarantined_traces == 0
    # three real calls; the error reply (prompt 0) is no turn, so the prompt never falls
    assert turns["prompt_tokens"].to_list() == [20_000, 20_400, 21_000]
    assert turns["new_input_tokens"].to_list() == [None, 280, 480]
    assert (turns["prompt_tokens"] > 0).all()


def test_each_side_chain_is_its_own_trace_with_its_own_context():
    parsed, turns = _read("sidechains")
    by_trace = {tid: g.sort("turn_index")["prompt_tokens"].to_list() for (tid,), g in turns.group_by("trace_id")}
    session = "cafe0000-0000-4000-8000-000000000002"
    assert by_trace == {session: [60_000, 70_000],
                        f"{session}:sidechain:1": [11_000, 12_500, 14_000],
                        f"{session}:sidechain:2": [9_000, 10_000, 11_000]}
    # interleaved lines: each chain's tool results still close its own tool calls
    spans = parsed.spans_frame()
    assert spans.group_by("trace_id").len().sort("trace_id")["len"].to_list() == [2, 3, 3]
    assert parsed.quarantined_traces == 0 and not parsed.quarantine


def test_streaming_snapshots_are_marked_and_estimated_from_content():
    parsed, turns = _read("snapshots")
    lines = [json.loads(x) for x in (FIXTURES / "snapshots" / "trace.jsonl").read_text().splitlines()]
    chars: dict[str, int] = {}
    for rec in lines:
        if rec["type"] == "assistant":
            mid = rec["message"]["id"]
            chars[mid] = chars.get(mid, 0) + content_chars(rec["message"]["content"])
    expected = [math.ceil(c / CHARS_PER_TOKEN) for c in list(chars.values())[:4]]
    assert parsed.snapshot_turns == 4
    assert turns["usage_snapshot"].to_list() == [True, True, True, True, False]
    assert turns["completion_tokens"].to_list() == [*expected, 150]  # the last call (stop_reason set) is kept
    assert min(expected) > 100  # not the 1-4 tokens the log claims
    # the next turn's new input uses the estimate: prompt growth minus the estimated output
    later = turns.filter(pl.col("turn_index").is_between(1, 3))
    assert later["new_input_tokens"].to_list() == [700 - e for e in expected[:3]]


def test_the_real_log_has_no_error_records_or_snapshots(shared_data: Path):
    parsed = contract.enforce(claude_code.read([shared_data / "tracelab-examples" / "claude" / "trace.json"], "cc"))
    assert (parsed.api_error_records, parsed.snapshot_turns, parsed.quarantined_traces) == (0, 0, 0)
    turns = parsed.turns_frame()
    assert turns["record"].to_list()[0] == "88"  # record 0007 of the dump starts on line 88
    assert turns["file"].str.ends_with("claude/trace.json").all()
