"""`agenttrace validate`: check trace files against their contracts."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import orjson
import typer

from agenttrace_pipeline.cli.console import err, out
from agenttrace_pipeline.trace.model import BLOCK_SIZE, MAX_LINE_BYTES

app = typer.Typer(rich_markup_mode=None, help="Check trace files against their contracts.", no_args_is_help=True)


@app.command("mooncake-trace")
def validate_mooncake_trace(
    input: Annotated[Path, typer.Option("--input", "-i", help="Mooncake JSONL trace to check.")],
    block_size: Annotated[int, typer.Option(min=1, help="Tokens per hash-id block.")] = BLOCK_SIZE,
    max_errors: Annotated[int, typer.Option(min=0, help="Stop after this many violations (0: no limit).")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="Print a machine-readable JSON report on stdout.")] = False,
    require_token_counts: Annotated[bool, typer.Option(
        "--require-token-counts", help="Reject text_input/messages/payload rows (the warehouse stores token counts).")] = False,
    max_line_bytes: Annotated[int, typer.Option(min=1, help="Longer lines are reported and skipped.")] = MAX_LINE_BYTES,
) -> None:
    """Validate a Mooncake trace (plain or gzip): AIPerf's row rules plus hash-id, session and timing invariants.

    Exit status: 0 valid, 1 invalid, 2 the file cannot be read.
    """
    from agenttrace_pipeline.trace.validator import validate_file


    size = input.stat().st_size if input.is_file() else 0
    show_progress = not as_json and err.is_terminal and size > 32 << 20
    if show_progress:
        from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn, TransferSpeedColumn

        with Progress(BarColumn(), DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn(), console=err.get(),
                      transient=True) as bar:
            task = bar.add_task("validating", total=size)
            report = validate_file(input, block_size, max_errors or None, lambda n: bar.update(task, completed=n),
                                   require_token_counts=require_token_counts, max_line_bytes=max_line_bytes)
    else:
        report = validate_file(input, block_size, max_errors or None, require_token_counts=require_token_counts,
                               max_line_bytes=max_line_bytes)
    if as_json:
        sys.stdout.buffer.write(orjson.dumps(report.to_dict(), option=orjson.OPT_INDENT_2) + b"\n")
    else:
        if report.readable and not report.valid:
            _verdict(report)
        for v in report.violations:
            where = f"{input}:{v.line}" if v.line else str(input)
            out.print(f"{where}: {v.field + ': ' if v.field else ''}{v.reason}", markup=False, highlight=False)
        if not report.readable:
            err.print("[red]cannot read the file[/red]")
        elif report.valid:
            out.print(f"[green]valid[/green] {report.form} trace: {report.rows:,} rows, {report.sessions:,} sessions, "
                      f"{report.distinct_hash_ids:,} distinct hash ids (block size {block_size})")
        else:
            _verdict(report)
    if not report.readable:
        raise typer.Exit(2)
    raise typer.Exit(0 if report.valid else 1)


def _verdict(report) -> None:
    shown = len(report.violations)
    more = " (stopped early: --max-errors reached)" if report.stopped_early else ""
    err.print(f"[red]invalid[/red]: {report.violation_count:,} violation(s), {shown:,} shown, "
              f"{report.rows:,} rows read{more}")
