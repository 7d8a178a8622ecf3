"""Retention: old run directories removed, keeping the warehouse and the output folder consistent.

Rules (the README's *Retention* section says the same):

* only run directories this generator wrote (``manifest.json`` of ours, not a symlink) lying directly in the
  output folder or its ``synthetic/`` folder are considered; nothing else is ever deleted;
* per seed, the newest ``keep`` directories stay, and so does the one the warehouse references
  (``synthetic_datasets.path``), newest or not;
* a seed whose referenced directory is gone, that has rows but no dataset row, or that was removed from the
  seed partition set, has its rows dropped from every seed-partitioned table with its lineage records (and,
  when removed from the partition set, its referenced directory removed too). Rows are dropped before any
  directory is deleted, so the warehouse never points at a missing dataset, even if a deletion fails.

:func:`plan` decides and changes nothing; :func:`apply` carries a plan out. No Dagster here: the caller
passes the seed partition set.
"""

from __future__ import annotations

import shutil
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from agenttrace_pipeline.store.tables import TABLES
from agenttrace_pipeline.store.warehouse import LINEAGE_DIR, Warehouse
from agenttrace_pipeline.synth.rundir import is_our_run

SEED_TABLES = [name for name, spec in TABLES.items() if spec.partition == "seed"]


@dataclass(frozen=True)
class RunDir:
    """A run directory of ours: its seed and creation time from its manifest, and its size."""

    path: Path
    seed: str
    created: str
    mtime_ns: int
    bytes: int


@dataclass
class Plan:
    """What :func:`apply` will do: directories to remove and keep, seeds whose rows to drop (with why)."""

    remove: list[RunDir] = field(default_factory=list)
    keep: list[RunDir] = field(default_factory=list)
    drop_seeds: dict[str, str] = field(default_factory=dict)

    @property
    def bytes(self) -> int:
        return sum(r.bytes for r in self.remove)


def _roots(output: Path) -> list[Path]:
    return [output.resolve(), (output / "synthetic").resolve()]


def run_directories(output: Path) -> list[RunDir]:
    """Every run directory of ours directly under ``output`` or ``output/synthetic``."""
    found = []
    for root in _roots(output):
        if not root.is_dir():
            continue
        for entry in sorted(root.iterdir()):
            if entry.name.startswith(".") or not is_our_run(entry):
                continue
            m = orjson.loads((entry / "manifest.json").read_bytes())
            size = sum(p.stat().st_size for p in entry.rglob("*") if p.is_file() and not p.is_symlink())
            found.append(RunDir(entry, str(m.get("seed")), str(m.get("created_utc", "")),
                                (entry / "manifest.json").stat().st_mtime_ns, size))
    return found


def _referenced(wh: Warehouse) -> dict[str, Path]:
    """Seed -> the run directory its ``synthetic_datasets`` row names."""
    df = wh.read_table("synthetic_datasets")
    return {str(s): Path(p).resolve() for s, p in zip(df["seed"], df["path"], strict=True) if p}


def _seeds_with_rows(wh: Warehouse) -> set[str]:
    return {v for t in SEED_TABLES for v in wh.partition_values(t)}


def plan(wh: Warehouse, output: Path, keep: int, partitions: Collection[str] | None = None) -> Plan:
    """Decide what to remove. ``partitions``: the seed partition set (None or empty: not used)."""
    if keep < 0:
        raise ValueError(f"keep must be >= 0, not {keep}")
    referenced = _referenced(wh)
    out = Plan()
    for seed in sorted(_seeds_with_rows(wh), key=lambda s: (len(s), s)):
        if seed not in referenced:
            out.drop_seeds[seed] = "rows without a synthetic_datasets row"
        elif partitions and seed not in partitions:
            out.drop_seeds[seed] = "removed from the seeds partition set"
        elif not referenced[seed].is_dir():
            out.drop_seeds[seed] = f"its dataset directory {referenced[seed]} is gone"
    protected = {p for s, p in referenced.items() if s not in out.drop_seeds}
    removed_with_seed = {referenced[s] for s, why in out.drop_seeds.items() if s in referenced and why.startswith("removed")}
    by_seed: dict[str, list[RunDir]] = {}
    for rd in run_directories(output):
        by_seed.setdefault(rd.seed, []).append(rd)
    for dirs in by_seed.values():
        dirs.sort(key=lambda r: (r.created, r.mtime_ns), reverse=True)
        newest = [r for r in dirs if r.path.resolve() not in removed_with_seed][:keep]
        for rd in dirs:
            kept = rd.path.resolve() in protected or rd in newest
            (out.keep if kept else out.remove).append(rd)
    return out


def _check_inside(path: Path, output: Path) -> None:
    if path.is_symlink() or path.resolve().parent not in _roots(output) or not is_our_run(path):
        raise ValueError(f"refusing to delete {path}: not a run directory of ours directly in {output}")


def apply(wh: Warehouse, p: Plan, output: Path) -> None:
    """Drop the planned seeds' rows and lineage, then delete the planned directories (each checked again)."""
    for seed in p.drop_seeds:
        for table in SEED_TABLES:
            wh.drop_partition(table, "seed", seed)
        for record in wh.store.glob(f"{LINEAGE_DIR}/*/{seed}/*.parquet"):
            wh.store.remove(record)
    for rd in p.remove:
        _check_inside(rd.path, output)
        shutil.rmtree(rd.path)
