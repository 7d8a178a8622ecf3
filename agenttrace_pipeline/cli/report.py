"""`agenttrace report`: build benchmark_report.html from an existing warehouse (no Dagster run)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from agenttrace_pipeline.cli.console import err, fail_early, out


def report(
    output: Annotated[Path | None, typer.Option(help="Where to write the page [default: "
                                                "outputs/reports/benchmark_report.html].")] = None,
) -> None:
    """Join every stage of the warehouse (sources → fits → profiles → datasets → simulations → replays) into
    one offline page and print its path (an empty warehouse gives a page that says so, and a note)."""
    from agenttrace_pipeline.reports.benchmark import build_report
    from agenttrace_pipeline.store.warehouse import Warehouse

    wh = Warehouse()
    if output is not None and output.is_dir():
        fail_early(f"--output {output} is a folder; give the page's file name")
    rep = build_report(wh, output.resolve() if output else None)
    seeds = rep.data["dataset_sources"]["seed"].n_unique()
    if seeds == 0:
        err.print(f"[yellow]note[/yellow]: the warehouse ({wh.store.url}) has no dataset yet; run `agenttrace run` first",
                  highlight=False)
    out.print(str(rep.path), markup=False, highlight=False)
    err.print(f"{seeds} seed(s), {rep.data['hit_rates']['replay_id'].drop_nulls().n_unique()} replay(s), "
              f"{rep.bytes / 1e3:.0f} kB in {rep.seconds:.2f} s", highlight=False)
