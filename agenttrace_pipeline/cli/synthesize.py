"""`agenttrace synthesize`: generate synthetic traces."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import orjson
import typer

from agenttrace_pipeline import settings
from agenttrace_pipeline.cli.console import err, out

app = typer.Typer(rich_markup_mode=None, help="Generate synthetic traces.", no_args_is_help=True)


@app.command("agentic-code")
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
    no_pages: Annotated[bool, typer.Option("--no-pages", help="Do not write report.html, cache_explorer.html and "
                                           "simulation.html into the run directory.")] = False,
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
    if not no_pages:
        _write_pages(res.run_dir)
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

    with Progress(TextColumn("sessions"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err.get(),
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


@app.command("schema")
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


def _write_pages(run_dir: Path) -> None:
    from rich.markup import escape

    from agenttrace_pipeline.reports import write_pages

    try:
        pages = write_pages(run_dir)
    except (OSError, ValueError) as exc:
        err.print(f"[red]pages not written[/red]: {escape(str(exc))} (the dataset itself is complete)", highlight=False)
        raise typer.Exit(1) from None
    out.print(f"pages ({pages.bytes / 1e6:.1f} MB in {pages.seconds:.1f} s): "
              + ", ".join(escape(p.name) for p in pages.paths), highlight=False)
