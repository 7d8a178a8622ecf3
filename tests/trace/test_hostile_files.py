"""Files that are not plain, well-behaved JSONL: compressed, huge lines, repeated keys, text rows."""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from agenttrace_pipeline.cli import app
from agenttrace_pipeline.trace import TraceReadError, iter_rows, validate_file
from agenttrace_pipeline.trace.schema import read_trace_table
from tests.conftest import FIXTURES

SAMPLE = Path(__file__).resolve().parents[2] / "assets_config" / "samples" / "mooncake_sample.jsonl"
runner = CliRunner()


def test_a_gzip_trace_is_read_transparently_whatever_its_name(tmp_path: Path):
    for name in ("trace.jsonl.gz", "trace.jsonl"):  # by magic bytes, not by suffix
        path = tmp_path / name
        path.write_bytes(gzip.compress(SAMPLE.read_bytes()))
        result = runner.invoke(app, ["validate", "mooncake-trace", "--input", str(path), "--json"])
        assert result.exit_code == 0, result.output
        report = orjson.loads(result.stdout)
        assert report["valid"] and report["rows"] == 194 and report["compressed"] is True
        assert read_trace_table(path).height == 194


def test_a_concatenated_gzip_reads_as_one_file(tmp_path: Path):
    lines = SAMPLE.read_bytes().splitlines(keepends=True)
    path = tmp_path / "two_members.jsonl.gz"
    path.write_bytes(gzip.compress(b"".join(lines[:100])) + gzip.compress(b"".join(lines[100:])))
    assert validate_file(path).rows == 194


def test_a_200_mb_line_is_skipped_with_flat_memory(tmp_path: Path):
    path = tmp_path / "huge.jsonl"
    good = b'{"timestamp":0,"input_length":600,"output_length":12,"hash_ids":[0,1]}\n'
    with open(path, "wb") as fh:
        fh.write(good)
        fh.write(b'{"timestamp":1,"input_length":5,"output_length":1,"text":"')
        for _ in range(200):
            fh.write(b"x" * (1 << 20))
        fh.write(b'"}\n' + good.replace(b'"timestamp":0', b'"timestamp":2'))
    # VmHWM: this process's own peak (ru_maxrss would include the pytest process it was forked from)
    code = ("import re,sys;from agenttrace_pipeline.trace import validate_file;"
            "r=validate_file(sys.argv[1]);v=r.violations;"
            "hwm=int(re.search(r'VmHWM:\\s+(\\d+)',open('/proc/self/status').read())[1])//1024;"
            "print(r.rows, v[0].line, v[0].reason[:60], hwm)")
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True).stdout
    rows, line, *reason, rss_mb = out.split()
    assert (int(rows), int(line)) == (2, 2) and "longer than the 16,777,216-byte limit" in " ".join(reason)
    assert int(rss_mb) < 180, f"peak RSS {rss_mb} MB for a 200 MB line"  # whole, it alone would be 200 MB


def test_the_line_cap_is_configurable(tmp_path: Path):
    path = tmp_path / "t.jsonl"
    path.write_bytes(SAMPLE.read_bytes())
    longest = max(map(len, SAMPLE.read_bytes().splitlines()))
    assert validate_file(path, max_line_bytes=longest).valid
    report = validate_file(path, max_line_bytes=longest - 1)
    assert not report.valid and all("limit" in v.reason for v in report.violations)


def test_the_reader_rejects_duplicate_keys_and_names_the_field(tmp_path: Path):
    with pytest.raises(TraceReadError) as exc:
        list(iter_rows(FIXTURES / "bad_traces" / "duplicate_key.jsonl"))
    assert (exc.value.line, exc.value.field) == (2, "output_length")
    assert "duplicate key 'output_length'" in str(exc.value)


def test_a_colon_inside_a_session_id_is_not_taken_for_a_repeated_key(tmp_path: Path):
    path = tmp_path / "t.jsonl"
    path.write_bytes(b'{"session_id":"user:1","input_length":600,"output_length":1,"hash_ids":[0,1],"timestamp":0}\n'
                     b'{"session_id":"user:1","input_length":5,"output_length":1,"hash_ids":[2],"delay":1.5}\n')
    assert validate_file(path).valid


def test_text_input_rows_are_valid_for_aiperf_but_not_storable():
    path = FIXTURES / "bad_traces" / "text_input_rows.jsonl"
    assert validate_file(path).valid
    (v,) = validate_file(path, require_token_counts=True).violations
    assert (v.line, v.field) == (2, "text_input")


def test_a_repeated_session_found_by_hash_is_confirmed_with_its_earlier_lines(tmp_path: Path):
    rows = [{"session_id": f"s{i}", "input_length": 10, "output_length": 1, "timestamp": float(i)} for i in range(500)]
    rows.append({"session_id": "s7", "input_length": 10, "output_length": 1, "timestamp": 0.0})
    path = tmp_path / "t.jsonl"
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    (v,) = validate_file(path).violations
    assert (v.line, v.field) == (501, "session_id") and "already had rows at lines 8-8" in v.reason
