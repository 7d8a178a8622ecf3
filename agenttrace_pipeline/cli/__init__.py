"""The ``agenttrace`` command: one module per command group, each importing what it needs only when run."""

from __future__ import annotations

from typing import Annotated

import typer

from agenttrace_pipeline import __version__
from agenttrace_pipeline.cli import (
    gc,
    pages,
    profiles,
    replay,
    report,
    run,
    seeds,
    serve_sim,
    simulate,
    synthesize,
    validate,
    warehouse,
)
from agenttrace_pipeline.cli.console import out

app = typer.Typer(rich_markup_mode=None,
    name="agenttrace",
    help="Coding-agent traces → fitted distributions → synthetic Mooncake traces → replay, kept in DuckDB.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(validate.app, name="validate")
app.add_typer(synthesize.app, name="synthesize")
app.add_typer(seeds.app, name="seeds")
app.add_typer(profiles.app, name="profiles")
app.add_typer(warehouse.app, name="warehouse")
app.command("run")(run.run)
app.command("backfill")(run.backfill_cmd)
app.command("query")(warehouse.query)
app.command("ui")(warehouse.ui)
app.command("simulate")(simulate.simulate)
app.command("pages")(pages.pages)
app.command("replay")(replay.replay)
app.command("serve-sim")(serve_sim.serve_sim)
app.command("report")(report.report)
app.command("gc")(gc.gc)


def _version(value: bool) -> None:
    if value:
        from agenttrace_pipeline import settings

        out.print(f"agenttrace {__version__} ({settings.code_version()})")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")] = False,
) -> None:
    pass


def main() -> None:
    app()
