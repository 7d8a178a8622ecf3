"""The ``agenttrace`` command."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.console import Console

from agenttrace_pipeline import __version__, settings

app = typer.Typer(
    name="agenttrace",
    help="Coding-agent traces → fitted distributions → synthetic Mooncake traces → replay, kept in DuckDB.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
validate_app = typer.Typer(help="Check trace files against their contracts.", no_args_is_help=True)
app.add_typer(validate_app, name="validate")
synth_app = typer.Typer(help="Generate synthetic traces.", no_args_is_help=True)
app.add_typer(synth_app, name="synthesize")
seeds_app = typer.Typer(help="Seed partitions of the synthetic datasets.", no_args_is_help=True)
app.add_typer(seeds_app, name="seeds")

# soft_wrap: error lines stay one line each (FILE:LINE: field: reason), whatever the terminal width.
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 160)  # tables stay readable in logs
err = Console(stderr=True, soft_wrap=True)


def _version(value: bool) -> None:
    if value:
        out.print(f"agenttrace {__version__} ({settings.code_version()})")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")] = False,
) -> None:
    pass


@validate_app.command("mooncake-trace")
def validate_mooncake_trace(
    input: Annotated[Path, typer.Option("--input", "-i", help="Mooncake JSONL trace to check.")],
    block_size: Annotated[int, typer.Option(min=1, help="Tokens per hash-id block.")] = 512,
    max_errors: Annotated[int, typer.Option(min=0, help="Stop after this many violations (0: no limit).")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="Print a machine-readable JSON report on stdout.")] = False,
) -> None:
    """Validate a Mooncake trace: AIPerf's row rules plus hash-id, session and timing invariants.

    Exit status: 0 valid, 1 invalid, 2 the file cannot be read.
    """
    from agenttrace_pipeline.trace.validator import validate_file

    size = input.stat().st_size if input.is_file() else 0
    show_progress = not as_json and err.is_terminal and size > 32 << 20
    if show_progress:
        from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn, TransferSpeedColumn

        with Progress(BarColumn(), DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn(), console=err,
                      transient=True) as bar:
            task = bar.add_task("validating", total=size)
            report = validate_file(input, block_size, max_errors or None, lambda n: bar.update(task, completed=n))
    else:
        report = validate_file(input, block_size, max_errors or None)
    if as_json:
        sys.stdout.buffer.write(orjson.dumps(report.to_dict(), option=orjson.OPT_INDENT_2) + b"\n")
    else:
        for v in report.violations:
            where = f"{input}:{v.line}" if v.line else str(input)
            out.print(f"{where}: {v.field + ': ' if v.field else ''}{v.reason}", markup=False, highlight=False)
        if not report.readable:
            err.print("[red]cannot read the file[/red]")
        elif report.valid:
            out.print(f"[green]valid[/green] {report.form} trace: {report.rows:,} rows, {report.sessions:,} sessions, "
                      f"{report.distinct_hash_ids:,} distinct hash ids (block size {block_size})")
        else:
            shown = len(report.violations)
            more = " (stopped early: --max-errors reached)" if report.stopped_early else ""
            err.print(f"[red]invalid[/red]: {report.violation_count:,} violation(s), {shown:,} shown, "
                      f"{report.rows:,} rows read{more}")
    if not report.readable:
        raise typer.Exit(2)
    raise typer.Exit(0 if report.valid else 1)


@synth_app.command("agentic-code")
def synthesize_agentic_code(
    num_sessions: Annotated[int, typer.Option(help="Primary sessions to generate (1 to 100,000,000).")] = 1000,
    seed: Annotated[int, typer.Option(help="Root seed (0 to 2**64-1); same seed + config ⇒ byte-identical dataset.")] = 42,
    config: Annotated[str, typer.Option(help="Bundled config name, config JSON path, or a prior run's manifest.json.")] = "default",
    output: Annotated[Path | None, typer.Option(help="Parent folder of the run directory [default: outputs/].")] = None,
    max_isl: Annotated[int | None, typer.Option("--max-isl", help="Override max_prompt_tokens.")] = None,
    max_osl: Annotated[int | None, typer.Option("--max-osl", help="Override generation_length.max.")] = None,
    max_bytes: Annotated[str | None, typer.Option("--max-bytes", help="Refuse (and stop) a dataset larger than this, "
                                                  "e.g. 500M or 20G; replaces the free-space check.")] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Skip the free-space check.")] = False,
) -> None:
    """Generate a multi-turn agentic-code Mooncake dataset (dataset.jsonl, manifest.json, quality.json).

    Exit status: 0 a valid dataset whose values follow the configured distributions; 1 the config, an
    argument or the generated data is wrong; 2 the output cannot be written (folder, disk space). Errors
    print one line each; a failed run leaves nothing behind.
    """
    from rich.markup import escape

    from agenttrace_pipeline.synth.config import ConfigError

    try:
        name, cfg = _synth_config(config, max_isl, max_osl)
        limit = _parse_bytes(max_bytes) if max_bytes is not None else None
    except (ConfigError, ValueError) as exc:
        err.print(f"[red]config error[/red]: {escape(str(exc))}", highlight=False)
        raise typer.Exit(1) from None
    root = output if output is not None else settings.output_root()
    # The resolved arguments, in the form that reproduces this run.
    args = ["synthesize", "agentic-code", "--num-sessions", str(num_sessions), "--seed", str(seed), "--config", config,
            "--output", str(root)]
    args += ["--max-isl", str(max_isl)] if max_isl is not None else []
    args += ["--max-osl", str(max_osl)] if max_osl is not None else []
    res = _run_synthesis(cfg, name, num_sessions, seed, root, args, limit, not yes)
    _print_quality(res.quality)
    m = res.manifest
    out.print(f"[green]valid[/green] dataset: {m['rows']:,} rows, {m['sessions_emitted']:,} sessions "
              f"({m['restart_continuations']:,} restart continuations) in {res.seconds:.2f} s")
    out.print(f"run directory: {escape(str(res.run_dir))}", highlight=False)
    from agenttrace_pipeline.synth.ks import failures

    bad = failures(res.quality.get("distribution_checks", {}))
    for line in bad:
        err.print(f"[red]distribution check failed[/red]: {escape(line)} (a generator defect: please report it)",
                  highlight=False)
    if bad:
        raise typer.Exit(1)


def _synth_config(ref: str, max_isl: int | None, max_osl: int | None):
    """The named config with the command-line overrides applied and re-validated."""
    from agenttrace_pipeline.synth.config import load_config, parse_config

    name, cfg = load_config(ref)
    data = cfg.to_json_dict()
    if max_isl is not None:
        data["max_prompt_tokens"] = max_isl
    if max_osl is not None:
        data["generation_length"] = {**data["generation_length"], "max": float(max_osl)}
    if max_isl is not None or max_osl is not None:
        cfg = parse_config(data, f"{ref} with --max-isl/--max-osl")
    return name, cfg


_UNITS = {"": 1, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}


def _parse_bytes(text: str) -> int:
    """``"500M"`` → 500,000,000 (K, M, G, T are powers of 1000; a trailing B is allowed)."""
    t = text.strip().upper().removesuffix("B")
    unit = t[-1:] if t[-1:] in _UNITS else ""
    try:
        value = float(t[: len(t) - len(unit)]) * _UNITS[unit]
    except ValueError:
        raise ValueError(f"--max-bytes: {text!r} is not a size such as 500M or 20G") from None
    if not 0 < value < 2**63:
        raise ValueError(f"--max-bytes: {text!r} must be positive")
    return int(value)


def _run_synthesis(cfg, name, num_sessions, seed, root, args, max_bytes, check_free_space):
    """Generate with a progress bar; every failure becomes one red line and an exit status (see the command)."""
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from agenttrace_pipeline.synth.config import ConfigError
    from agenttrace_pipeline.synth.engine import GenerationError
    from agenttrace_pipeline.synth.generate import InvalidDataset, synthesize
    from agenttrace_pipeline.synth.rundir import SynthesisError

    with Progress(TextColumn("sessions"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err,
                  transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task("generate", total=num_sessions)
        try:
            return synthesize(cfg, num_sessions=num_sessions, seed=seed, output_root=root, config_name=name,
                              cli_args=args, progress=lambda n: bar.update(task, completed=n), max_bytes=max_bytes,
                              check_free_space=check_free_space)
        except (SynthesisError, OSError) as exc:
            what, code = "cannot generate", 2
            message = str(exc) if isinstance(exc, SynthesisError) else f"{exc.strerror or exc}: {exc.filename or root}"
        except ConfigError as exc:
            what, code, message = "config error", 1, str(exc)
        except ValueError as exc:
            what, code, message = "invalid argument", 1, str(exc)
        except (GenerationError, InvalidDataset) as exc:
            what, code, message = "generation failed", 1, str(exc)
    err.print(f"[red]{what}[/red]: {escape(message)}", highlight=False)
    raise typer.Exit(code)


def _print_quality(quality: dict) -> None:
    from rich.table import Table

    t = Table(title="target vs observed")
    t.add_column("metric", no_wrap=True)
    for col in ("target mean", "observed mean", "err", "target median", "observed median", "err"):
        t.add_column(col, justify="right", no_wrap=True)

    def f(v: float | None, pct: bool = False) -> str:
        if v is None:
            return "–"
        return f"{v:+.2f}%" if pct else f"{v:,.1f}"

    for name, row in quality["observed_vs_target"].items():
        obs = row["observed"]
        t.add_row(name, f(row["target_mean"]), f(obs.get("mean")), f(row["pct_error_mean"], True),
                  f(row["target_median"]), f(obs.get("median")), f(row["pct_error_median"], True))
    out.print(t)
    ends = quality["session_end_stats"]["fractions"]
    out.print("end reasons: " + ", ".join(f"{k} {v:.1%}" for k, v in ends.items() if v))


@synth_app.command("schema")
def synthesize_schema(
    write: Annotated[bool, typer.Option(help="Rewrite the committed spec.json instead of printing.")] = False,
) -> None:
    """Print (or rewrite) the JSON Schema of the generator config."""
    from agenttrace_pipeline.synth.config import CONFIG_DIR, json_schema

    text = orjson.dumps(json_schema(), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"
    if write:
        (CONFIG_DIR / "spec.json").write_bytes(text)
        out.print(f"wrote {CONFIG_DIR / 'spec.json'}")
    else:
        sys.stdout.buffer.write(text)


@app.command("run")
def run(
    seed: Annotated[str, typer.Option(help="Seed partition for partitioned assets.")] = "42",
) -> None:
    """Materialise every asset on the embedded defaults (the main job) and print where the outputs are."""
    from rich.table import Table

    from agenttrace_pipeline.orchestration import run_main_job
    from agenttrace_pipeline.store.warehouse import Warehouse

    err.print(f"materialising every asset (seed partition {seed}) …")
    result = run_main_job(seed)
    table = Table(title=f"run {result.run_id}")
    table.add_column("asset")
    table.add_column("rows", justify="right")
    table.add_column("output", overflow="fold")
    for key, meta in result.materialized.items():
        rows = meta.get("dagster/row_count", "")
        table.add_row(key, f"{rows:,}" if isinstance(rows, int) else str(rows), str(meta.get("output", meta.get("warehouse", ""))))
    out.print(table)
    for key, meta in result.materialized.items():
        for name, value in meta.items():
            if name.startswith("hit_rate/"):
                out.print(f"{key}: {name.split('/', 1)[1]} infinite-cache prefix hit rate {value:.1%}")
    for name, passed in result.checks.items():
        out.print(f"check {name}: {'[green]passed[/green]' if passed else '[red]FAILED[/red]'}")
    wh = Warehouse()
    out.print(f"DuckDB warehouse : {wh.database}")
    out.print(f"Parquet lake     : {wh.lake}")
    out.print(f"generated data   : {settings.output_root()}")
    out.print(f"Dagster home     : {settings.dagster_home()}  (UI: agenttrace ui)")
    if not result.success or not all(result.checks.values()):
        err.print("[red]the run failed[/red]; see the messages above")
        raise typer.Exit(1)


@seeds_app.command("list")
def seeds_list() -> None:
    """List the seed partitions of the project-local Dagster instance."""
    from agenttrace_pipeline.orchestration import list_seeds

    out.print(" ".join(list_seeds()) or "(none yet: agenttrace seeds add 42)")


@seeds_app.command("add")
def seeds_add(seeds: Annotated[list[str], typer.Argument(help="Seeds or ranges: 7 10-12")]) -> None:
    """Add seed partitions (they then show up in the UI for materialisation and backfills)."""
    from agenttrace_pipeline.orchestration import add_seeds, parse_seeds

    try:
        keys = parse_seeds(seeds)
    except ValueError as exc:
        err.print(str(exc), markup=False)
        raise typer.Exit(2) from None
    new = add_seeds(keys)
    out.print(f"added {len(new)} seed partition(s): {' '.join(new) or '-'}")


@app.command("backfill")
def backfill_cmd(
    seeds: Annotated[list[str], typer.Argument(help="Seeds or a range: 1-8")],
    num_sessions: Annotated[int | None, typer.Option(min=1, help="Primary sessions per seed.")] = None,
) -> None:
    """Generate the synthetic datasets (and their quality tables) for a seed range in one run."""
    from agenttrace_pipeline.orchestration import backfill, parse_seeds

    try:
        keys = parse_seeds(seeds)
        result = backfill(keys, num_sessions)
    except ValueError as exc:
        err.print(str(exc), markup=False)
        raise typer.Exit(2) from None
    for name, passed in result.checks.items():
        out.print(f"check {name}: {'[green]passed[/green]' if passed else '[red]FAILED[/red]'}")
    out.print(f"run {result.run_id}: {'succeeded' if result.success else 'failed'} for seeds {' '.join(keys)}")
    if not result.success or not all(result.checks.values()):
        raise typer.Exit(1)


@app.command("ui")
def ui(
    host: Annotated[str, typer.Option(help="Interface to bind (default: loopback only).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the web UI.")] = 3000,
) -> None:
    """Serve the Dagster UI (``dagster dev``) with the project-local instance."""
    from agenttrace_pipeline.orchestration import serve_ui

    raise typer.Exit(serve_ui(host, port))


@app.command("query")
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
        df = Warehouse().query(text, read_only=True)
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


def main() -> None:
    app()


if __name__ == "__main__":
    main()
