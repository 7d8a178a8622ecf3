"""The README's SQL and table descriptions against the warehouse: every ```sql block runs on a warehouse the
main job materialised and returns rows; every documented table and column is the declared one."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import polars as pl
import pytest

from agenttrace_pipeline import settings
from agenttrace_pipeline.store.tables import LINEAGE_COLUMNS, TABLES
from agenttrace_pipeline.store.warehouse import Warehouse
from tests.materialised_warehouse import materialised, use

README = (settings.PROJECT_ROOT / "README.md").read_text()
BLOCKS = re.findall(r"```sql\n(.*?)```", README, flags=re.S)


def _declared() -> dict[str, set[str]]:
    out = {name: {*s.columns, s.partition} for name, s in TABLES.items()}
    return out | {"lineage": set(LINEAGE_COLUMNS)}


@pytest.fixture
def lake_copy(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Warehouse:
    """A copy of the materialised warehouse in which seed 7's `quality_within_tolerance` verdict failed (the
    real runs pass every check), so the failed-check query has a row to find."""
    env = materialised(tmp_path_factory)
    use(env, monkeypatch)
    shutil.copytree(Path(env["AGENTTRACE_WAREHOUSE"]).parent / "lake", tmp_path / "lake")
    monkeypatch.setenv("AGENTTRACE_LAKE", str(tmp_path / "lake"))
    wh = Warehouse()
    checks = wh.read_partition("check_results", "latest")
    assert checks is not None and checks["passed"].all()
    flip = (pl.col("seed") == "7") & (pl.col("check_name") == "quality_within_tolerance")
    wh.write_partition("check_results", "run", "latest", checks.with_columns(passed=pl.when(flip).then(False)
                                                                             .otherwise(pl.col("passed"))))
    return wh


def test_the_readme_has_the_four_questions() -> None:
    assert len(BLOCKS) >= 4
    for needle in ("FROM synthetic_datasets d", "quantile_cont(q.ttft_ms, 0.99)", "hit_rate_server_counters",
                   "FROM check_results"):
        assert any(needle in b for b in BLOCKS), needle


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_every_sql_block_runs_and_returns_rows(lake_copy: Warehouse, index: int) -> None:
    df = lake_copy.query(BLOCKS[index])
    assert df.height > 0, BLOCKS[index]
    if "FROM check_results" in BLOCKS[index]:
        assert df.select("seed", "check_name").rows() == [("7", "quality_within_tolerance")]
    if "quantile_cont(q.ttft_ms, 0.99)" in BLOCKS[index]:
        assert sorted(df["seed"].to_list()) == [7, 42]
    if "profile_sources" in BLOCKS[index]:  # seed 42 was generated from the fitted pooled profile
        assert df["file"].null_count() == 0 and df["sha256"].str.len_chars().to_list() == [64] * df.height


def _documented_tables() -> dict[str, list[str]]:
    """The README's table of tables: name -> the backticked columns of its row."""
    section = README.split("**Tables.**", 1)[1].split("\n## ", 1)[0]
    rows = [r for r in section.splitlines() if r.startswith("| `")]
    out = {}
    for r in rows:
        cells = [c.strip() for c in r.strip("|").split("|")]
        out[cells[0].strip("`")] = re.findall(r"`([^`]+)`", cells[2])
    return out


def test_the_table_list_is_the_declared_tables_and_columns() -> None:
    documented = _documented_tables()
    declared = _declared()
    assert set(documented) == set(declared)
    for name, cols in documented.items():
        partition = TABLES[name].partition if name in TABLES else None
        assert set(cols) | ({partition} if partition else set()) == declared[name], name


def test_column_names_in_prose_descriptions_exist() -> None:
    """Wherever the README describes a table as ``table`` (col, col, …), every snake_case name in the
    parentheses is one of that table's columns."""
    declared = _declared()
    wrong = []
    for m in re.finditer(r"`(\w+)`\s*\(([^)]*)\)", README):
        table, text = m.group(1), m.group(2)
        if table not in declared:
            continue
        wrong += [f"{table}.{w}" for w in re.findall(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b", text) if w not in declared[table]]
    assert wrong == []


def test_the_canonical_turn_column_list_is_agent_turns() -> None:
    text = README.split("Canonical turn columns:", 1)[1].split(". Every record", 1)[0]
    text = re.sub(r"\([^()]*(?:\([^()]*\)[^()]*)*\)", "", text)  # drop the explanations in parentheses
    names = {w for w in re.findall(r"\b[a-z][a-z0-9_]*\b", text) if w not in ("and",)}
    assert names == _declared()["agent_turns"] - {"run_id"}  # run_id: the lineage column every table adds
