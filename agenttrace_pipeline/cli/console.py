"""The two consoles every command prints to, and the one-line error exit."""

from __future__ import annotations

import sys

import typer
from rich.console import Console

# soft_wrap: error lines stay one line each (FILE:LINE: field: reason), whatever the terminal width.
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 160)  # tables stay readable in logs
err = Console(stderr=True, soft_wrap=True)


def fail_early(message: str, code: int = 2) -> None:
    """One red line on stderr and a non-zero exit (bad arguments or environment: nothing ran)."""
    err.print(f"[red]error[/red]: {message}", highlight=False, markup=True)
    raise typer.Exit(code)
