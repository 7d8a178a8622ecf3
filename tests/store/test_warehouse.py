"""The lake-first warehouse: declared tables, atomic and deferred partition writes, Parquet lineage,
DuckDB views resolved at connection time, a rebuildable DuckDB file, and readers that never wait."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import polars as pl
import pytest

from agenttrace_pipeline.store.tables import SchemaMismatch, spec
from agenttrace_pipeline.store.warehouse import LineageRecord, Warehouse


def _stats(*rates: float) -> pl.DataFrame:
    n = len(rates)
    return pl.DataFrame({"capacity_blocks": [None] * n, "requests": [1] * n, "input_tokens": [10] * n,
                         "hit_tokens": [1] * n, "distinct_blocks": [1] * n, "hit_rate": list(rates),
                         "run_id": ["r"] * n}, schema_overrides={"capacity_blocks": pl.Int64})


def _record(run_id: str = "run-1", partition: str | None = "42") -> LineageRecord:
    return LineageRecord("a", partition, run_id, "0.1+abc", {"cfg": "f" * 64}, "e" * 64, 10, ["/x"])


def test_rewriting_a_partition_replaces_it(tmp_path: Path):
    wh = Warehouse(tmp_path / "w.duckdb")
    wh.write_partition("reference_cache_stats", "trace", "a", _stats(0.1, 0.2))
    wh.write_partition("reference_cache_stats", "trace", "b", _stats(0.3))
    wh.write_partition("reference_cache_stats", "trace", "a", _stats(0.7, 0.8))
    got = wh.query("SELECT trace, hit_rate FROM reference_cache_stats ORDER BY trace, hit_rate")
    assert got.rows() == [("a", 0.7), ("a", 0.8), ("b", 0.3)]
    assert [p.name for p in (tmp_path / "lake" / "reference_cache_stats" / "trace=a").iterdir()] == ["data.parquet"]


def test_a_frame_that_breaks_the_declared_columns_is_refused_with_the_column_named(tmp_path: Path):
    wh = Warehouse(tmp_path / "w.duckdb")
    with pytest.raises(SchemaMismatch, match=r"reference_cache_stats.*missing \['capacity_blocks'"):
        wh.write_partition("reference_cache_stats", "trace", "a", _stats(0.1).drop("capacity_blocks"))
    with pytest.raises(SchemaMismatch, match=r"hit_rate"):
        wh.write_partition("reference_cache_stats", "trace", "a", _stats(0.1).with_columns(hit_rate=pl.lit("x")))
    assert not (tmp_path / "lake" / "reference_cache_stats").exists() or not any((tmp_path / "lake").rglob("*.parquet"))


def test_an_empty_table_is_queryable_with_its_declared_columns(tmp_path: Path):
    wh = Warehouse(tmp_path / "w.duckdb")
    cols = wh.query("SELECT * FROM generator_profiles").columns
    assert set(spec("generator_profiles").columns) <= set(cols)
    wh.write_partition("generator_profiles", "run", "latest", spec("generator_profiles").empty())
    assert wh.query("SELECT count(*) FROM generator_profiles").item() == 0


def test_unsafe_partition_names_are_refused(tmp_path: Path):
    with pytest.raises(ValueError, match="unsafe"):
        Warehouse(tmp_path / "w.duckdb").write_partition("reference_cache_stats", "trace", "../../etc", _stats(0.1))


def test_env_var_moves_the_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AGENTTRACE_WAREHOUSE", str(tmp_path / "elsewhere" / "x.duckdb"))
    monkeypatch.delenv("AGENTTRACE_LAKE", raising=False)
    wh = Warehouse()
    assert wh.database == tmp_path / "elsewhere" / "x.duckdb" and wh.lake == tmp_path / "elsewhere" / "lake"


def test_lineage_records_are_parquet_files_in_the_lake(tmp_path: Path):
    wh = Warehouse(tmp_path / "w.duckdb")
    wh.record_lineage(_record())
    wh.record_lineage(_record("run-2", None))
    row = wh.query("SELECT asset_key, partition_key, run_id, input_fingerprints->>'cfg' AS cfg, row_count "
                   "FROM lineage ORDER BY run_id")
    assert row.rows() == [("a", "42", "run-1", "f" * 64, 10), ("a", None, "run-2", "f" * 64, 10)]
    assert sorted(p.name for p in (tmp_path / "lake" / "lineage").rglob("*.parquet")) == ["run-1.parquet", "run-2.parquet"]
    assert not (tmp_path / "w.duckdb").exists()  # writers never open DuckDB


def test_deferred_writes_appear_only_with_their_lineage_and_are_discarded_on_failure(tmp_path: Path):
    wh = Warehouse(tmp_path / "w.duckdb", deferred=True)
    wh.write_partition("reference_cache_stats", "trace", "a", _stats(0.5))
    assert Warehouse(tmp_path / "w.duckdb").query("SELECT count(*) FROM reference_cache_stats").item() == 0
    wh.record_lineage(_record())
    assert Warehouse(tmp_path / "w.duckdb").query("SELECT count(*) FROM reference_cache_stats").item() == 1
    failed = Warehouse(tmp_path / "w.duckdb", deferred=True)
    failed.write_partition("reference_cache_stats", "trace", "a", _stats(0.9, 0.9))
    failed.discard()
    assert Warehouse(tmp_path / "w.duckdb").query("SELECT hit_rate FROM reference_cache_stats").rows() == [(0.5,)]
    assert [p.name for p in (tmp_path / "lake").rglob("*") if p.is_file() and "tmp" in p.name] == []


def test_a_copied_warehouse_reads_its_own_lake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    a = Warehouse(tmp_path / "a" / "w.duckdb")
    a.write_partition("reference_cache_stats", "trace", "x", _stats(0.1))
    a.rebuild()
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    b = Warehouse(tmp_path / "b" / "w.duckdb")
    b.write_partition("reference_cache_stats", "trace", "x", _stats(0.9))
    assert a.query("SELECT hit_rate FROM reference_cache_stats").item() == 0.1
    assert b.query("SELECT hit_rate FROM reference_cache_stats").item() == 0.9
    # the DuckDB file holds no absolute path: given its lake, the copy reads the copy's lake
    conn = duckdb.connect(str(tmp_path / "b" / "w.duckdb"), read_only=True)
    conn.execute("SET VARIABLE agenttrace_lake = ?", [str(tmp_path / "b" / "lake")])
    assert conn.sql("SELECT hit_rate FROM reference_cache_stats").fetchall() == [(0.9,)]
    views = conn.sql("SELECT sql FROM duckdb_views() WHERE NOT internal").fetchall()
    assert views and not any(str(tmp_path) in v[0] for v in views)
    conn.close()


def test_readers_do_not_wait_for_a_writer_holding_the_duckdb_file(tmp_path: Path):
    wh = Warehouse(tmp_path / "w.duckdb")
    wh.write_partition("reference_cache_stats", "trace", "x", _stats(0.1))
    wh.rebuild()
    # another process holds the DuckDB file open for writing; our reader and writer still work
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
                               "print('open', flush=True); time.sleep(30)", str(tmp_path / "w.duckdb")],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        wh.write_partition("reference_cache_stats", "trace", "y", _stats(0.2))
        assert wh.query("SELECT count(*) FROM reference_cache_stats").item() == 2
    finally:
        holder.kill()
        holder.wait()


def test_a_lake_given_as_a_url_is_written_and_read_through_fsspec():
    """An object-store lake is a configuration change: fsspec's in-memory filesystem stands in for one."""
    import uuid

    url = f"memory://lake-{uuid.uuid4().hex[:8]}"
    wh = Warehouse(database="/nonexistent/never-opened.duckdb", lake=url, deferred=True)
    wh.write_partition("reference_cache_stats", "trace", "x", _stats(0.25))
    assert wh.read_table("reference_cache_stats").height == 0  # held back until its lineage
    wh.record_lineage(_record())
    assert wh.store.url.startswith("memory://") and not wh.store.local
    assert wh.partition_values("reference_cache_stats") == ["x"]
    assert wh.read_table("reference_cache_stats")["hit_rate"].to_list() == [0.25]
    assert wh.lineage()["run_id"].to_list() == ["run-1"]
    assert wh.fingerprint("reference_cache_stats", "x") == Warehouse(lake=url).fingerprint("reference_cache_stats", "x")
