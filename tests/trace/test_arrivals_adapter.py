"""The Mooncake arrivals adapter reads rows with the trace contract's reader and rules."""

from __future__ import annotations

import gzip
from pathlib import Path

from agenttrace_pipeline.sources import arrival_traces


def _quarantine(parsed) -> dict[str, str]:
    assert parsed.records_in == parsed.records_accepted + len(parsed.quarantine)
    return {q["record"]: q["reason"] for q in parsed.quarantine}


def test_bad_rows_are_quarantined_with_field_and_reason_and_good_ones_kept(tmp_path: Path):
    rows = [
        b'{"timestamp":0,"input_length":10,"output_length":1}',
        b'{"timestamp":1,"input_length":10,"output_length":1,"output_length":999}',  # repeated key
        b'{"timestamp":2,"input_length":10,"output_length":0}',  # the contract: output_length > 0
        b'{"timestamp":3,"text_input":"hi","output_length":4}',  # no input_length
        b'{"timestamp":4,"input_length":10,"output_length":1,"hash_ids":[-1]}',
        b'{"timestamp":5,"input_length":10,"output_length":1,"pad":"' + b"x" * (17 << 20) + b'"}',  # over the cap
        b'{"timestamp":6,"input_length":12,"output_length":2}',
    ]
    path = tmp_path / "arrivals.jsonl.gz"
    path.write_bytes(gzip.compress(b"\n".join(rows) + b"\n"))
    parsed = arrival_traces.read_mooncake([path], "m")
    q = _quarantine(parsed)
    assert q["2"].startswith("output_length: duplicate key 'output_length'")
    assert q["3"].startswith("output_length: must be a positive token count")
    assert q["4"].startswith("input_length: missing")
    assert q["5"].startswith("hash_ids: element 0 must be a non-negative")
    assert q["6"].startswith("line is longer than the 16,777,216-byte limit")
    assert parsed.arrivals_frame()["input_tokens"].to_list() == [10, 12]


def test_a_truncated_gzip_keeps_the_rows_before_the_damage(tmp_path: Path):
    body = b"".join(b'{"timestamp":%d,"input_length":10,"output_length":1}\n' % i for i in range(2000))
    packed = gzip.compress(body)
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(packed[: len(packed) // 2])
    parsed = arrival_traces.read_mooncake([path], "m")
    q = _quarantine(parsed)
    assert 0 < parsed.records_accepted < 2000 and "truncated" in q["file"]
