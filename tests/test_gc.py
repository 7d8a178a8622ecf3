"""`agenttrace gc` through the CLI: old run directories go, the newest N and the one the warehouse references
stay, nothing outside the output folder is touched, and the warehouse never points at a missing dataset."""

from __future__ import annotations

import itertools
import os
import time
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from agenttrace_pipeline.cli import app
from agenttrace_pipeline.store.lineage import LineageRecord
from agenttrace_pipeline.store.warehouse import Warehouse

runner = CliRunner()


_made = itertools.count()


def _synthesize(out: Path, seed: int, sessions: int) -> Path:
    """A real run directory from the generator. Its manifest's time has a resolution of seconds, so two directories
    made within one second tie on it and gc orders them by the manifest file's mtime: that is set a minute apart,
    in the order the directories are made (in every output folder, so the newest is the one made last)."""
    res = runner.invoke(app, ["synthesize", "agentic-code", "--num-sessions", str(sessions), "--seed", str(seed),
                              "--output", str(out), "--yes", "--no-pages"])
    assert res.exit_code == 0, res.output
    (d,) = [p for p in out.iterdir() if f"_{sessions}s_seed{seed}" in p.name]
    stamp = time.time() - 3600 + next(_made) * 60
    os.utime(d / "manifest.json", (stamp, stamp))
    return d


def _register(wh: Warehouse, seed: str, run_dir: Path) -> None:
    """The warehouse rows and lineage the pipeline writes for a seed (dataset row and a replay row)."""
    wh.write_partition("synthetic_datasets", "seed", seed, pl.DataFrame([{
        "dataset_id": f"d{seed}", "profile": "default", "num_sessions": 1, "sessions_emitted": 1,
        "restart_continuations": 0, "rows": 1, "path": str(run_dir), "dataset_sha256": "a", "config_sha256": "b",
        "tool_version": "0", "run_id": "r1"}]))
    wh.write_partition("dataset_quality", "seed", seed, pl.DataFrame(
        schema=Warehouse().read_table("dataset_quality").drop("seed").schema))
    wh.record_lineage(LineageRecord("synthetic_dataset", seed, "r1", "0", {"seed": seed}, "f", 1))


@pytest.fixture
def setup(isolated: Path) -> dict[str, Path]:
    synth = isolated / "outputs" / "synthetic"
    synth.mkdir(parents=True)
    dirs = {"s1_old": _synthesize(synth, 1, 5), "s1_mid": _synthesize(synth, 1, 6), "s1_new": _synthesize(synth, 1, 7),
            "s2": _synthesize(synth, 2, 5), "cli_s1": _synthesize(isolated / "outputs", 1, 8)}
    wh = Warehouse()
    _register(wh, "1", dirs["s1_old"])  # the warehouse references seed 1's oldest directory
    _register(wh, "3", synth / "deleted_by_hand")  # seed 3's dataset directory is gone
    (synth / "not_ours").mkdir()
    (synth / "not_ours" / "manifest.json").write_text('{"tool": "someone else"}')
    (isolated / "elsewhere").mkdir()
    (synth / "link_out").symlink_to(isolated / "elsewhere")
    return dirs


def test_dry_run_changes_nothing(setup: dict[str, Path]) -> None:
    res = runner.invoke(app, ["gc", "--dry-run"])
    assert res.exit_code == 0, res.output
    assert "would remove" in res.stdout and "dry run, nothing changed" in res.output
    assert all(d.is_dir() for d in setup.values())
    assert Warehouse().query("SELECT count(*) FROM synthetic_datasets").item() == 2


def test_gc_keeps_the_newest_and_the_referenced_and_drops_dangling_rows(setup: dict[str, Path], isolated: Path) -> None:
    res = runner.invoke(app, ["gc", "--keep", "1"])
    assert res.exit_code == 0, res.output
    gone = {k for k, d in setup.items() if not d.exists()}
    # seed 1: cli_s1 is the newest (written last), s1_old is referenced; s1_mid and s1_new go; seed 2 keeps its one
    assert gone == {"s1_mid", "s1_new"}
    assert (isolated / "outputs" / "synthetic" / "not_ours").is_dir() and (isolated / "elsewhere").is_dir()
    wh = Warehouse()
    assert wh.query("SELECT seed FROM synthetic_datasets").to_series().to_list() == [1]
    assert wh.query("SELECT count(*) FROM dataset_quality WHERE seed = 3").item() == 0
    assert wh.query("SELECT DISTINCT partition_key FROM lineage").to_series().to_list() == ["1"]
    assert "seed 3" in res.stdout and "is gone" in res.stdout
    again = runner.invoke(app, ["gc", "--keep", "1"])  # idempotent
    assert "0 run directories" in again.output and "0 seed(s)" in again.output


def test_keep_from_the_setting_and_removed_seeds(setup: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    assert runner.invoke(app, ["seeds", "add", "1-2"]).exit_code == 0
    monkeypatch.setenv("AGENTTRACE_KEEP_RUNS", "3")
    res = runner.invoke(app, ["gc"])
    assert res.exit_code == 0, res.output
    assert all(d.is_dir() for d in setup.values())  # 3 newest of seed 1 + the referenced one
    assert runner.invoke(app, ["seeds", "remove", "1"]).exit_code == 0
    res = runner.invoke(app, ["gc"])
    assert "removed from the seeds partition set" in res.stdout
    assert not setup["s1_old"].exists()  # the removed seed's dataset goes with its rows
    assert Warehouse().query("SELECT count(*) FROM synthetic_datasets").item() == 0


def test_a_bad_setting_is_a_clear_error(setup: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTTRACE_KEEP_RUNS", "two")
    res = runner.invoke(app, ["gc"])
    assert res.exit_code == 2 and "AGENTTRACE_KEEP_RUNS='two'" in res.output
    assert runner.invoke(app, ["gc", "--keep", "-1"]).exit_code == 2
