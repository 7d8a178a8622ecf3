"""`agenttrace pages DATASET_DIR`: write report.html, cache_explorer.html and simulation.html for a run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from agenttrace_pipeline.cli.console import err, out


def pages(dataset_dir: Annotated[Path, typer.Argument(help="Run directory (dataset.jsonl, manifest.json, quality.json).")]) -> None:
    """Write the three offline pages into DATASET_DIR and print their paths. Exit 2 when it cannot be read."""
    from agenttrace_pipeline.reports import write_pages
    from agenttrace_pipeline.reports.data import RunDirError
    from agenttrace_pipeline.trace.reader import TraceReadError

    try:
        res = write_pages(dataset_dir)
    except (RunDirError, TraceReadError) as exc:
        err.print(f"[red]cannot make pages[/red]: {exc}", markup=True, highlight=False)
        raise typer.Exit(2) from None
    for p in res.paths:
        out.print(str(p), markup=False, highlight=False)
    err.print(f"{len(res.paths)} pages, {res.bytes / 1e6:.1f} MB in {res.seconds:.1f} s")
