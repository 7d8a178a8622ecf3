"""Sources never crash (issue 9): every class of malformed record, in every format that can show it, becomes
one quarantine row with file, line (or key), field and reason; the valid records beside it are kept, and
records in = accepted + quarantined. The fixtures are in tests/fixtures/sources/<class>/."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from agenttrace_pipeline.sources import agenttrace, arrival_traces, claude_code, contract, mini_swe_agent, openhands, tracelab

F = Path(__file__).resolve().parents[1] / "fixtures" / "sources"
MSA = "mini_swe_agent"

# (class, reader, files, {(file name, record): (field, words in the reason)}, traces or arrivals kept)
CASES = [
    ("wrong_types", agenttrace.read, ["agenttrace.jsonl"], {
        ("agenttrace.jsonl", "2"): ("llm_steps[1].usage", "expected an object, got a string"),
        ("agenttrace.jsonl", "3"): ("model", "expected a string, got an object"),
        ("agenttrace.jsonl", "4"): ("spans[0].resources", "expected an object, got a list"),
        ("agenttrace.jsonl", "5"): ("llm_steps[2].tool_calls", "expected a list, got a number")}, 2),
    ("wrong_types", openhands.read_v0, ["openhands_v0.jsonl"], {
        ("openhands_v0.jsonl", "2"): ("metrics", "expected an object, got a string"),
        ("openhands_v0.jsonl", "3"): ("metrics.token_usages[0]", "expected an object, got a number"),
        ("openhands_v0.jsonl", "4"): ("history[0].tool_call_metadata", "expected an object, got a list")}, 1),
    ("wrong_types", openhands.read_v1, ["openhands_v1.jsonl"], {
        ("openhands_v1.jsonl", "2"): ("history", "expected a list, got a number")}, 1),
    ("wrong_types", tracelab.read, ["tracelab.jsonl"], {
        ("tracelab.jsonl", "2"): ("tools", "expected a list, got a number"),
        ("tracelab.jsonl", "3"): ("timing_events", "expected a list, got a number"),
        ("tracelab.jsonl", "4"): ("model", "expected a string, got a number")}, 1),
    ("wrong_types", claude_code.read, ["claude_code/trace.jsonl"], {
        ("trace.jsonl", "5"): ("message", "expected an object, got a string"),
        ("trace.jsonl", "7"): ("message.usage", "expected an object, got a list"),
        ("trace.jsonl", "9"): ("message.model", "expected a string, got a number")}, 1),
    ("wrong_types", mini_swe_agent.read, [f"{MSA}/{k}.traj.json" for k in ("good", "info", "extra", "details", "usage", "model")], {
        ("info.traj.json", "file"): ("info", "expected an object, got a string"),
        ("extra.traj.json", "file"): ("messages[2].extra", "expected an object, got a list"),
        ("details.traj.json", "file"): ("messages[2].extra.response.usage.prompt_tokens_details", "got a number"),
        ("usage.traj.json", "file"): ("messages[4].extra.response.usage", "expected an object, got a string"),
        ("model.traj.json", "file"): ("info.config.model", "expected an object, got a string")}, 1),
    ("timestamp_overflow", agenttrace.read, ["agenttrace.jsonl"], {
        ("agenttrace.jsonl", "2"): ("llm_steps[1].start_time", "timestamp 1e+300 is out of range")}, 1),
    ("timestamp_overflow", tracelab.read, ["tracelab.jsonl"], {
        ("tracelab.jsonl", "2"): ("timing_events[0].timestamp", "timestamp 1e+300 is out of range")}, 1),
    ("timestamp_overflow", claude_code.read, ["claude_code/trace.jsonl"], {
        ("trace.jsonl", "2"): ("timestamp", "timestamp 1e+300 is out of range")}, 1),
    ("timestamp_overflow", mini_swe_agent.read, [f"{MSA}/bad.traj.json", f"{MSA}/good.traj.json"], {
        ("bad.traj.json", "file"): ("messages[3].extra.timestamp", "timestamp 1e+300 is out of range")}, 1),
    ("token_overflow", agenttrace.read, ["agenttrace.jsonl"], {
        ("agenttrace.jsonl", "2"): ("llm_steps[0].prompt_tokens", "token count 18446744073709551615 is above 2**53")}, 1),
    ("token_overflow", openhands.read_v0, ["openhands_v0.jsonl"], {
        ("openhands_v0.jsonl", "1"): ("metrics.token_usages[1].completion_tokens", "above 2**53")}, 1),
    ("token_overflow", tracelab.read, ["tracelab.jsonl"], {
        ("tracelab.jsonl", "2"): ("input_tokens_total", "above 2**53")}, 1),
    ("token_overflow", claude_code.read, ["claude_code/trace.jsonl"], {
        ("trace.jsonl", "2"): ("message.usage.output_tokens", "above 2**53"),
        ("trace.jsonl", "3"): ("message.usage.output_tokens", "above 2**53")}, 1),
    ("token_overflow", arrival_traces.read_azure, ["azure.csv"], {
        ("azure.csv", "4"): ("ContextTokens", "ContextTokens='18446744073709551615'")}, 4),
    ("ragged_csv", arrival_traces.read_azure, ["azure.csv"], {
        ("azure.csv", "5"): ("", "ragged line: 4 fields where the header has 3")}, 7),
    ("duplicate_keys", agenttrace.read, ["agenttrace.jsonl"], {
        ("agenttrace.jsonl", "2"): ("trace_id", "duplicate key 'trace_id'")}, 1),
    ("duplicate_keys", tracelab.read, ["tracelab.jsonl"], {
        ("tracelab.jsonl", "2"): ("output_tokens", "duplicate key 'output_tokens'")}, 1),
    ("duplicate_keys", openhands.read_v0, ["openhands_v0.jsonl"], {
        ("openhands_v0.jsonl", "2"): ("prompt_tokens", "duplicate key 'prompt_tokens'")}, 1),
    ("duplicate_keys", claude_code.read, ["claude_code/trace.jsonl"], {
        ("trace.jsonl", "3"): ("output_tokens", "duplicate key 'output_tokens'")}, 1),
    ("duplicate_keys", mini_swe_agent.read, [f"{MSA}/dup.traj.json", f"{MSA}/good.traj.json"], {
        ("dup.traj.json", "file"): ("instance_id", "duplicate key 'instance_id'")}, 1),
]


@pytest.mark.parametrize(("cls", "read", "names", "expected", "kept"), CASES,
                         ids=[f"{c[0]}-{c[1].__module__.rsplit('.', 1)[1]}-{c[1].__name__}" for c in CASES])
def test_each_malformed_record_is_quarantined_with_its_field_and_the_rest_is_kept(cls, read, names, expected, kept):
    files = [F / cls / n for n in names]
    parsed = contract.enforce(read(files, "src"))
    assert parsed.records_in == parsed.records_accepted + len(parsed.quarantine)
    got = {(Path(q["file"]).name, q["record"]): q for q in parsed.quarantine}
    assert set(got) == set(expected)
    for key, (field, words) in expected.items():
        assert got[key]["field"] == field and words in got[key]["reason"], got[key]
        assert str(F / cls) in got[key]["file"]
    turns = parsed.turns_frame()
    assert (turns["trace_id"].n_unique() if turns.height else parsed.arrivals_frame().height) == kept
    assert parsed.quarantined_traces == 0  # the adapter caught each record itself


def test_equal_telemetry_timestamps_and_a_bad_sample():
    d = F / "equal_telemetry_timestamps"
    parsed = claude_code.read([d / "trace.jsonl"], "cc")
    assert parsed.records_in == parsed.records_accepted + len(parsed.quarantine) == 7 + 4  # log lines + samples
    [q] = parsed.quarantine
    assert (Path(q["file"]).name, q["record"], q["field"]) == ("resources.json", "[3]", "[3].timestamp")
    first = parsed.spans_frame().row(0, named=True)
    # both samples at 2 s are inside the tool's run: the larger RSS wins, CPU is last minus first
    assert first["peak_rss_bytes"] == 180 << 20 and first["user_cpu_s"] == pytest.approx(0.6)


def test_gzip_and_cr_only_files_get_a_clear_answer(tmp_path: Path):
    plain = (F / "contract" / "agenttrace.jsonl").read_bytes()
    (tmp_path / "at.jsonl.gz").write_bytes(gzip.compress(plain))
    assert agenttrace.read([tmp_path / "at.jsonl.gz"], "at").records_accepted == 2  # read transparently
    (tmp_path / "cr.jsonl").write_bytes(plain.replace(b"\n", b"\r"))
    [q] = agenttrace.read([tmp_path / "cr.jsonl"], "at").quarantine
    assert q["reason"].startswith("lines end in CR only")
