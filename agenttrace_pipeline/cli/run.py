"""`agenttrace run` and `agenttrace backfill`: Dagster runs from the command line, failures first and last."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from agenttrace_pipeline import settings
from agenttrace_pipeline.cli.console import err, fail_early, out


def run(
    seed: Annotated[str, typer.Option(help="Seed partition for partitioned assets.")] = "42",
    profile: Annotated[str | None, typer.Option(help="Generator profile for the synthetic dataset: bundled name, "
                                                "fitted profile name, JSON path or manifest [default: default].")] = None,
    sources: Annotated[Path | None, typer.Option(help="A sources file of your own that extends (or, with "
                                                 '"mode": "replace", replaces) the bundled list.')] = None,
    num_sessions: Annotated[int | None, typer.Option(min=1, help="Primary sessions of the synthetic dataset.")] = None,
    log_level: Annotated[str, typer.Option(help="Dagster's own log on stderr: critical (quiet), error, warning, "
                                           "info or debug.")] = "critical",
) -> None:
    """Materialise every asset on the embedded defaults (the main job) and print where the outputs are."""
    import os

    from agenttrace_pipeline.orchestration import run_main_job
    from agenttrace_pipeline.seeds import validate_seed

    try:
        seed = validate_seed(seed)
    except ValueError as exc:
        fail_early(str(exc))
    if sources is not None:
        if not sources.is_file():
            fail_early(f"--sources {sources}: no such file")
        os.environ["AGENTTRACE_SOURCES"] = str(sources.resolve())
    err.print(f"materialising every asset (seed partition {seed}) … (--log-level info shows Dagster's log)")
    result = run_main_job(seed, log_level.upper(), profile=profile, num_sessions=num_sessions)
    _report_run(result)



def _print_problems(result, heading: str) -> None:
    from rich.markup import escape

    failures = result.failures
    err.print(f"[bold red]{heading}: {len(failures)} failure(s) in run {result.run_id}[/bold red]")
    for p in failures:
        where = f" ({p.where})" if p.where else ""
        err.print(f"[red]FAILED {p.kind} {escape(p.name)}[/red]{escape(where)}: {escape(p.reason)}", highlight=False)
        for d in p.details:
            err.print(f"    {escape(d)}", highlight=False)


def _report_run(result) -> None:
    """Failures first and last (red, with file and line), then what ran; exit 1 when anything failed."""
    from rich.markup import escape

    if not result.ok:
        _print_problems(result, "the run failed")
        if not result.failures:
            err.print("[red]the run failed without a recorded step failure; see the log above[/red]")
    _print_outputs(result)
    for p in result.warnings:
        out.print(f"[yellow]warning[/yellow]: check {escape(p.name)}: {escape(p.reason)}", highlight=False)
        for d in p.details[:10]:
            out.print(f"    {escape(d)}", highlight=False)
    passed = sum(result.checks.values())
    failed = sum(1 for p in result.failures if p.kind == "check")
    out.print(f"checks: {passed} passed, {failed} failed, {len(result.warnings)} warning(s)")
    if result.skipped:
        out.print(f"not run (blocked by a failure upstream): {', '.join(result.skipped)}")
    if not result.ok:
        _print_problems(result, "the run failed")
        raise typer.Exit(1)
    from agenttrace_pipeline.store.warehouse import Warehouse

    wh = Warehouse()
    _rebuild_quietly(wh)
    out.print(f"DuckDB warehouse : {wh.database}")
    out.print(f"Parquet lake     : {wh.store.url}")
    out.print(f"generated data   : {settings.output_root()}")
    out.print(f"Dagster home     : {settings.dagster_home()}  (UI: agenttrace ui)")


def _print_outputs(result) -> None:
    from rich.table import Table

    table = Table(title=f"run {result.run_id}: {'materialised' if result.ok else 'materialised before the failure'}")
    table.add_column("asset")
    table.add_column("rows", justify="right")
    table.add_column("output", overflow="fold")
    for key, meta in result.materialized.items():
        rows = meta.get("dagster/row_count", "")
        shown = f"{rows:,}" if isinstance(rows, int) else str(rows)
        table.add_row(key, shown, str(meta.get("output", meta.get("warehouse", ""))))
    out.print(table)
    for key, meta in result.materialized.items():
        for name, value in meta.items():
            if name.startswith("hit_rate/"):
                out.print(f"{key}: {name.split('/', 1)[1]} infinite-cache prefix hit rate {value:.1%}")
    profiles = result.materialized.get("generator_profiles", {}).get("profile_paths")
    for name, path in (profiles or {}).items():
        out.print(f"profile {name}: {path}  (use: agenttrace synthesize agentic-code --config {name})")


def _rebuild_quietly(wh) -> None:
    """Refresh the DuckDB file of views for other clients; a failure here is a note, not a failed run."""
    try:
        wh.rebuild()
    except Exception as exc:
        err.print(f"[yellow]note[/yellow]: could not refresh {wh.database} ({exc}); `agenttrace warehouse rebuild` "
                  "does it later")


def backfill_cmd(
    seeds: Annotated[list[str], typer.Argument(help="Seeds or a range: 1-8")],
    num_sessions: Annotated[int | None, typer.Option(min=1, help="Primary sessions per seed.")] = None,
    profile: Annotated[str | None, typer.Option(help="Generator profile (bundled or fitted name, path, manifest).")] = None,
) -> None:
    """Generate the synthetic datasets (and their quality tables) for a seed range in one run."""
    from agenttrace_pipeline.orchestration import backfill
    from agenttrace_pipeline.seeds import parse_seeds

    try:
        keys = parse_seeds(seeds)
        result = backfill(keys, num_sessions, profile=profile)
    except ValueError as exc:
        fail_early(str(exc))
    out.print(f"seeds {' '.join(keys)}")
    _report_run(result)
