"""The two consoles every command prints to, and the one-line error exit."""

from __future__ import annotations

import sys
from typing import Any, NoReturn

import typer


class _LazyConsole:
    """A rich Console made on first use: `agenttrace --help` need not import rich (start-up stays fast)."""

    def __init__(self, **kwargs: Any) -> None:
        self._kwargs = kwargs
        self._console: Any = None

    def get(self) -> Any:
        """The rich Console itself (for rich APIs that take one, e.g. ``Progress(console=…)``)."""
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._kwargs)
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.get(), name)


# soft_wrap: error lines stay one line each (FILE:LINE: field: reason), whatever the terminal width.
out = _LazyConsole(soft_wrap=True, width=None if sys.stdout.isatty() else 160)  # tables stay readable in logs
err = _LazyConsole(stderr=True, soft_wrap=True)


def fail_early(message: str, code: int = 2) -> NoReturn:
    """One red line on stderr and a non-zero exit (bad arguments or environment: nothing ran)."""
    err.print(f"[red]error[/red]: {message}", highlight=False, markup=True)
    raise typer.Exit(code)
