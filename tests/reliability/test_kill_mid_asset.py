"""kill -9 in the middle of generation, simulation and replay: the rerun succeeds and the warehouse holds each
partition once, whole, written by the rerun; a writer killed between staging and commit leaves nothing a
reader sees, and the next write of that partition removes its leftovers."""

from __future__ import annotations

import signal
from pathlib import Path

import dagster as dg
import pytest

from agenttrace_pipeline.store.warehouse import Warehouse
from tests.reliability.killing import HERE, kill_at, kill_group, start

SEED = "7"
SESSIONS = "1500"  # generation then lasts seconds, so the kill lands inside it
# asset → the line the asset logs when its work starts, and the tables it writes
ASSETS = {
    "synthetic_dataset": ("seed 7: generating", ("synthetic_turns", "synthetic_sessions", "synthetic_datasets")),
    "cache_simulation": ("seed 7: simulating", ("cache_simulation",)),
    "replay_run": ("seed 7: replaying against", ("replay_requests", "replay_runs")),
}


def _materialise() -> tuple[int, str, str]:
    proc, lines = start([str(HERE / "materialise_seed.py"), SEED, SESSIONS])
    try:
        out, _ = proc.communicate(timeout=300)
    except BaseException:
        kill_group(proc)
        raise
    return proc.returncode, out, "".join(iter(lines.get, None))


def _run_ids() -> list[str]:
    return [r.run_id for r in dg.DagsterInstance.get().get_runs()]


@pytest.mark.slow
@pytest.mark.parametrize("asset", list(ASSETS))
def test_kill_9_mid_asset_then_rerun(isolated: Path, asset: str):
    marker, _ = ASSETS[asset]
    proc, lines = start([str(HERE / "materialise_seed.py"), SEED, SESSIONS])
    kill_at(proc, lines, marker)
    assert proc.returncode == -signal.SIGKILL
    (killed,) = _run_ids()
    wh = Warehouse()
    done = set(wh.lineage().filter(run_id=killed)["asset_key"])
    assert asset not in done, f"the kill came after {asset} had committed; it must land inside it"

    rc, out, err = _materialise()
    assert rc == 0, f"rerun failed:\n{out}\n{err[-4000:]}"
    rerun = next(r for r in _run_ids() if r != killed)
    assert f"run_id={rerun} success=True" in out

    lineage = wh.lineage()
    for name, (_, tables) in ASSETS.items():
        rec = lineage.filter(asset_key=name, run_id=rerun)
        assert rec.height == 1 and rec["partition_key"][0] == SEED
        for table in tables:
            assert wh.partition_values(table) == [SEED]  # one partition, the rerun's
            got = wh.query(f"SELECT count(*) AS n, count(DISTINCT run_id) AS runs, min(run_id) AS run FROM {table}").row(0)
            assert got[1:] == (1, rerun), f"{table}: rows of several runs or of the killed one: {got}"
        assert wh.query(f"SELECT count(*) FROM {tables[0]}").item() == rec["row_count"][0]  # whole, not partial
    # nothing half-written is left: no staged Parquet in the lake, no partial run directory in the outputs
    assert not [p for p in (isolated / "wh" / "lake").rglob("*") if p.name.endswith(".tmp")]
    assert not [p for p in (isolated / "outputs").rglob("*") if p.name.endswith(".partial")]


def test_a_writer_killed_between_staging_and_commit_leaves_nothing_visible(isolated: Path):
    proc, lines = start([str(HERE / "stage_and_wait.py"), SEED])
    kill_at(proc, lines, "staged", timeout_s=120)
    assert proc.returncode == -signal.SIGKILL
    folder = isolated / "wh" / "lake" / "synthetic_datasets" / f"seed={SEED}"
    (leftover,) = folder.iterdir()
    assert leftover.name.startswith(".data.parquet.") and leftover.name.endswith(".tmp")
    wh = Warehouse()
    assert wh.partition_values("synthetic_datasets") == []
    assert wh.query("SELECT count(*) FROM synthetic_datasets").item() == 0

    # the next writer of that partition removes the dead writer's staged file and commits its own
    from agenttrace_pipeline.store.tables import TABLES

    wh.write_partition("synthetic_datasets", "seed", SEED, TABLES["synthetic_datasets"].empty())
    assert [p.name for p in folder.iterdir()] == ["data.parquet"]
