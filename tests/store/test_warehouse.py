from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from agenttrace_pipeline.store.warehouse import LineageRecord, Warehouse


def test_rewriting_a_partition_replaces_it(tmp_path: Path):
    wh = Warehouse(tmp_path / "w.duckdb")
    wh.write_partition("reference_cache_stats", "trace", "a", pl.DataFrame({"v": [1, 2]}))
    wh.write_partition("reference_cache_stats", "trace", "b", pl.DataFrame({"v": [3]}))
    wh.write_partition("reference_cache_stats", "trace", "a", pl.DataFrame({"v": [7, 8]}))
    got = wh.query("SELECT trace, v FROM reference_cache_stats ORDER BY trace, v")
    assert got.rows() == [("a", 7), ("a", 8), ("b", 3)]
    assert [p.name for p in (tmp_path / "lake" / "reference_cache_stats" / "trace=a").iterdir()] == ["data.parquet"]


def test_unsafe_partition_names_are_refused(tmp_path: Path):
    with pytest.raises(ValueError, match="unsafe"):
        Warehouse(tmp_path / "w.duckdb").write_partition("t", "trace", "../../etc", pl.DataFrame({"v": [1]}))


def test_env_var_moves_the_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AGENTTRACE_WAREHOUSE", str(tmp_path / "elsewhere" / "x.duckdb"))
    wh = Warehouse()
    assert wh.database == tmp_path / "elsewhere" / "x.duckdb" and wh.lake == tmp_path / "elsewhere" / "lake"


def test_lineage_rows_round_trip(tmp_path: Path):
    wh = Warehouse(tmp_path / "w.duckdb")
    wh.record_lineage(LineageRecord("a", "42", "run-1", "0.1+abc", {"cfg": "f" * 64}, "e" * 64, 10, ["/x"]))
    row = wh.query("SELECT asset_key, partition_key, run_id, input_fingerprints->>'cfg' AS cfg, row_count FROM lineage")
    assert row.rows() == [("a", "42", "run-1", "f" * 64, 10)]
