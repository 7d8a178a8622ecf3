"""`agenttrace seeds`: the seed partitions of the synthetic datasets."""

from __future__ import annotations

from typing import Annotated

import typer

from agenttrace_pipeline.cli.console import fail_early, out

app = typer.Typer(rich_markup_mode=None, help="Seed partitions of the synthetic datasets.", no_args_is_help=True)


@app.command("list")
def seeds_list() -> None:
    """List the seed partitions of the project-local Dagster instance."""
    from agenttrace_pipeline.orchestration import list_seeds

    out.print(" ".join(list_seeds()) or "(none yet: agenttrace seeds add 42)")


@app.command("add")
def seeds_add(seeds: Annotated[list[str], typer.Argument(help="Seeds or ranges: 7 10-12")]) -> None:
    """Add seed partitions (they then show up in the UI for materialisation and backfills)."""
    from agenttrace_pipeline.orchestration import add_seeds
    from agenttrace_pipeline.seeds import parse_seeds

    try:
        keys = parse_seeds(seeds)
    except ValueError as exc:
        fail_early(str(exc))
    new = add_seeds(keys)
    out.print(f"added {len(new)} seed partition(s): {' '.join(new) or '- (all were present)'}")


@app.command("remove")
def seeds_remove(seeds: Annotated[list[str], typer.Argument(help="Seed partition keys to remove, as listed.")]) -> None:
    """Remove seed partitions (also ones an older version accepted by mistake). Data stays until `agenttrace gc`."""
    from agenttrace_pipeline.orchestration import remove_seeds

    gone = remove_seeds(seeds)
    missing = [k for k in seeds if k not in gone]
    out.print(f"removed {len(gone)} seed partition(s): {' '.join(gone) or '-'}")
    if missing:
        fail_early(f"not a seed partition: {' '.join(repr(k) for k in missing)} (see `agenttrace seeds list`)")
