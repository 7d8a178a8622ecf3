from __future__ import annotations

from pathlib import Path

import pandera.errors
import polars as pl
import pytest

from agenttrace_pipeline.trace import validate_file, write_rows
from agenttrace_pipeline.trace.schema import TRACE_COLUMNS, read_trace_table, trace_table_schema

ROWS = [
    {"delay": None, "timestamp": 0.0, "hash_ids": [0, 1], "output_length": 9, "input_length": 700, "session_id": "s",
     "group_id": 3},
    {"session_id": "s", "input_length": 10, "output_length": 9, "hash_ids": [2], "delay": 250.0},
]


def test_rows_are_compact_in_contract_key_order(tmp_path: Path):
    written = write_rows(tmp_path / "d.jsonl", ROWS)
    lines = (tmp_path / "d.jsonl").read_text().splitlines()
    assert lines[0] == '{"session_id":"s","input_length":700,"output_length":9,"hash_ids":[0,1],"timestamp":0.0,"group_id":3}'
    assert lines[1] == '{"session_id":"s","input_length":10,"output_length":9,"hash_ids":[2],"delay":250.0}'
    assert written.rows == 2 and validate_file(tmp_path / "d.jsonl").valid


def test_a_failed_write_leaves_the_old_file_and_no_temp(tmp_path: Path):
    target = tmp_path / "d.jsonl"
    write_rows(target, ROWS)
    before = target.read_bytes()

    def broken():
        yield ROWS[0]
        raise RuntimeError("generator died")

    with pytest.raises(RuntimeError):
        write_rows(target, broken())
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["d.jsonl"]


def test_trace_table_has_turn_indexes_and_passes_the_schema(tmp_path: Path):
    write_rows(tmp_path / "d.jsonl", ROWS)
    df = read_trace_table(tmp_path / "d.jsonl")
    assert df.columns == list(TRACE_COLUMNS) and df["turn"].to_list() == [0, 1]
    trace_table_schema(512).validate(df)


def test_schema_rejects_broken_rows_with_failure_cases(tmp_path: Path):
    write_rows(tmp_path / "d.jsonl", ROWS)
    df = read_trace_table(tmp_path / "d.jsonl").with_columns(
        pl.Series("input_length", [700, -1]), pl.Series("hash_ids", [[0], [2]]))
    with pytest.raises(pandera.errors.SchemaErrors) as exc:
        trace_table_schema(512).validate(df, lazy=True)
    checks = set(exc.value.failure_cases["check"].to_list())
    assert "in_range(1, 2147483647)" in checks  # bounds from rules.FIELDS, as the validator uses
    assert any("input_length <= len(hash_ids)" in c for c in checks)
