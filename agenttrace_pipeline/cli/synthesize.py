"""`agenttrace synthesize`: generate synthetic traces."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import orjson
import typer

from agenttrace_pipeline import settings
from agenttrace_pipeline.cli.console import err, out

app = typer.Typer(help="Generate synthetic traces.", no_args_is_help=True)


@app.command("agentic-code")
def synthesize_agentic_code(
    num_sessions: Annotated[int, typer.Option(min=1, help="Primary sessions to generate.")] = 1000,
    seed: Annotated[int, typer.Option(min=0, help="Root seed; same seed + config ⇒ byte-identical dataset.")] = 42,
    config: Annotated[str, typer.Option(help="Bundled config name, config JSON path, or a prior run's manifest.json.")] = "default",
    output: Annotated[Path | None, typer.Option(help="Parent folder of the run directory [default: outputs/].")] = None,
    max_isl: Annotated[int | None, typer.Option("--max-isl", min=2, help="Override max_prompt_tokens.")] = None,
    max_osl: Annotated[int | None, typer.Option("--max-osl", min=1, help="Override generation_length.max.")] = None,
) -> None:
    """Generate a multi-turn agentic-code Mooncake dataset (dataset.jsonl, manifest.json, quality.json).

    The dataset is validated before the summary prints; exit status 1 if it is invalid or the config is.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from agenttrace_pipeline.synth.config import ConfigError, load_config
    from agenttrace_pipeline.synth.engine import GenerationError
    from agenttrace_pipeline.synth.generate import InvalidDataset, synthesize

    try:
        name, cfg = load_config(config)
        if max_isl is not None:
            cfg = cfg.model_copy(update={"max_prompt_tokens": max_isl})
        if max_osl is not None:
            cfg = cfg.model_copy(update={"generation_length": cfg.generation_length.model_copy(update={"max": float(max_osl)})})
        cfg = type(cfg).model_validate(cfg.to_json_dict())  # re-check overrides
    except (ConfigError, ValueError) as exc:
        err.print(f"[red]config error[/red]: {exc}", markup=True, highlight=False)
        raise typer.Exit(1) from None
    root = output if output is not None else settings.output_root()
    # The resolved arguments, in the form that reproduces this run.
    args = ["synthesize", "agentic-code", "--num-sessions", str(num_sessions), "--seed", str(seed), "--config", config,
            "--output", str(root)]
    args += ["--max-isl", str(max_isl)] if max_isl is not None else []
    args += ["--max-osl", str(max_osl)] if max_osl is not None else []
    with Progress(TextColumn("sessions"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err,
                  transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task("generate", total=num_sessions)
        try:
            res = synthesize(cfg, num_sessions=num_sessions, seed=seed, output_root=root, config_name=name,
                             cli_args=args, progress=lambda n: bar.update(task, completed=n))
        except (GenerationError, InvalidDataset) as exc:
            err.print(f"[red]generation failed[/red]: {exc}", markup=True, highlight=False)
            raise typer.Exit(1) from None
    _print_quality(res.quality)
    m = res.manifest
    out.print(f"[green]valid[/green] dataset: {m['rows']:,} rows, {m['sessions_emitted']:,} sessions "
              f"({m['restart_continuations']:,} restart continuations) in {res.seconds:.2f} s")
    out.print(f"run directory: {res.run_dir}")


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
