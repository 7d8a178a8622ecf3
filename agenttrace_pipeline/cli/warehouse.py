"""`agenttrace query`, `agenttrace warehouse` and `agenttrace ui`: reading the warehouse, serving the UI."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from agenttrace_pipeline.cli.console import err, out

app = typer.Typer(rich_markup_mode=None, help="The DuckDB file of views over the Parquet lake.", no_args_is_help=True)


def ui(
    host: Annotated[str, typer.Option(help="Interface to bind (default: loopback only).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the web UI.")] = 3000,
) -> None:
    """Serve the Dagster UI (``dagster dev``) with the project-local instance."""
    from agenttrace_pipeline.orchestration import serve_ui

    raise typer.Exit(serve_ui(host, port))


def query(
    sql: Annotated[str | None, typer.Argument(help="SQL to run against the warehouse.")] = None,
    file: Annotated[Path | None, typer.Option("--file", "-f", help="Read the SQL from a file.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
) -> None:
    """Query the DuckDB warehouse (views over the Parquet lake plus the lineage table)."""
    from agenttrace_pipeline.store.warehouse import Warehouse

    if (sql is None) == (file is None):
        err.print("give either SQL or --file")
        raise typer.Exit(2)
    text = sql if sql is not None else file.read_text()  # type: ignore[union-attr]
    try:
        df = Warehouse().query(text)
    except Exception as exc:  # duckdb errors carry the useful message
        err.print(f"[red]query failed[/red]: {exc}", markup=True, highlight=False)
        raise typer.Exit(1) from None
    if fmt == "csv":
        sys.stdout.write(df.write_csv())
    elif fmt == "json":
        sys.stdout.write(df.write_json() + "\n")
    else:
        import polars as pl

        with pl.Config(tbl_rows=50, tbl_cols=20, fmt_str_lengths=60):
            out.print(str(df), markup=False, highlight=False)


@app.command("rebuild")
def warehouse_rebuild() -> None:
    """Rewrite the DuckDB file from the lake (views for every table; no absolute paths inside)."""
    from agenttrace_pipeline.store.warehouse import Warehouse

    wh = Warehouse()
    out.print(f"rebuilt {wh.rebuild()} over the lake {wh.store.url}")
