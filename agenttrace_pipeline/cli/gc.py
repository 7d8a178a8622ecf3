"""`agenttrace gc`: remove old run directories, keeping the warehouse and the output folder consistent."""

from __future__ import annotations

from typing import Annotated

import typer

from agenttrace_pipeline import settings
from agenttrace_pipeline.cli.console import err, fail_early, out


def gc(
    keep: Annotated[int | None, typer.Option(min=0, help="Run directories kept per seed (besides the one the "
                                             "warehouse references) [default: AGENTTRACE_KEEP_RUNS, else 1].")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print what would be removed; change nothing.")] = False,
) -> None:
    """Remove run directories older than the newest KEEP per seed from the output folder, and drop the
    warehouse rows of seeds whose dataset is gone or that were removed from the seed partitions."""
    from rich.markup import escape

    from agenttrace_pipeline import retention
    from agenttrace_pipeline.orchestration import list_seeds
    from agenttrace_pipeline.store.warehouse import Warehouse

    try:
        n = keep if keep is not None else settings.keep_runs()
    except ValueError as exc:
        fail_early(str(exc))
    output = settings.output_root()
    wh = Warehouse()
    p = retention.plan(wh, output, n, set(list_seeds()))
    verb = "would remove" if dry_run else "removed"
    for seed, why in p.drop_seeds.items():
        out.print(f"seed {seed}: {verb} its warehouse rows and lineage ({escape(why)})", highlight=False)
    for rd in p.remove:
        out.print(f"{verb} {escape(str(rd.path))} (seed {rd.seed}, {rd.created}, {rd.bytes / 1e6:.1f} MB)", highlight=False)
    if not dry_run:
        retention.apply(wh, p, output)
    err.print(f"{len(p.remove)} run director{'y' if len(p.remove) == 1 else 'ies'} ({p.bytes / 1e6:.1f} MB) and "
              f"{len(p.drop_seeds)} seed(s) of warehouse rows {'to remove' if dry_run else 'removed'}; "
              f"{len(p.keep)} kept (keep {n} per seed)"
              + (" — dry run, nothing changed" if dry_run else ""), highlight=False)
