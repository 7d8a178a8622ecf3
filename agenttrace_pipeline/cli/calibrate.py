"""`agenttrace calibrate`: fit the simulated engine's cost model to a running OpenAI-compatible server."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from agenttrace_pipeline.cli.console import err, fail_early, out

if TYPE_CHECKING:
    import polars as pl

    from agenttrace_pipeline.calibration.fit import Fit


def _ints(text: str, name: str) -> tuple[int, ...]:
    try:
        vals = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        fail_early(f"{name}: expected comma-separated integers, got {text!r}")
    if not vals or min(vals) < 1:
        fail_early(f"{name}: expected positive integers, got {text!r}")
    return vals


def calibrate(
    url: Annotated[str, typer.Option(help="Server base URL (without /v1).")],
    model: Annotated[str, typer.Option(help="Model name the server serves.")],
    name: Annotated[str, typer.Option(help="Preset name (letters, digits, '-', '_').")],
    output: Annotated[Path | None, typer.Option(help="Preset file to write [outputs/calibration/<name>.json].")] = None,
    prompt_sizes: Annotated[str, typer.Option(help="Prompt sizes in tokens, each sent cold then warm.")] = "32,128,512,1024,2048,4096",
    concurrency: Annotated[str, typer.Option(help="Concurrency levels of the decode sweep.")] = "1,2,4,8,16",
    output_lengths: Annotated[str, typer.Option(help="max_tokens values of the output-length sweep.")] = "8,32,128",
    repeats: Annotated[int, typer.Option(min=1, help="Requests per prompt size and output length.")] = 5,
    decode_tokens: Annotated[int, typer.Option(min=2, help="Reply length in the decode sweep.")] = 128,
    capacity_blocks: Annotated[int | None, typer.Option(min=1, help="Server KV blocks (vLLM: read from /metrics when absent).")] = None,
    block_tokens: Annotated[int | None, typer.Option(min=1, help="Server tokens per KV block (vLLM: read from /metrics).")] = None,
    max_model_len: Annotated[int, typer.Option(min=64, help="Server context limit; larger prompt sizes are skipped.")] = 8192,
    max_batch_tokens: Annotated[int, typer.Option(min=1, help="Server prefill tokens per step (vLLM --max-num-batched-tokens).")] = 8192,
    max_seqs: Annotated[int, typer.Option(min=1, help="Server requests per batch (vLLM --max-num-seqs).")] = 256,
    replay_requests: Annotated[Path | None, typer.Option(
        help="Parquet of a replay's per-request records (agenttrace replay --requests) to match by simulation.")] = None,
    replay_dataset: Annotated[Path | None, typer.Option(
        help="The dataset that replay sent (Mooncake JSONL); with --replay-requests.")] = None,
    replay_time_scale: Annotated[float, typer.Option(min=0, help="The --time-scale that replay ran with.")] = 1.0,
    api_key_env: Annotated[str | None, typer.Option(help="Name of the environment variable holding the API key.")] = None,
) -> None:
    """Run a sweep (prompt sizes cold and warm, concurrency levels, output lengths) against the server, fit
    prefill and decode times, and write a named preset with its fit quality (R², residual percentiles)."""
    import re

    import polars as pl

    from agenttrace_pipeline import settings
    from agenttrace_pipeline.calibration.fit import fit_samples, write_preset
    from agenttrace_pipeline.calibration.sweep import SweepPlan, replay_samples, run_sweep

    if not re.fullmatch(r"[A-Za-z0-9_-]+", name):
        fail_early(f"--name: use letters, digits, '-' and '_', got {name!r}")
    if (replay_dataset is None) != (replay_requests is None):
        fail_early("--replay-dataset and --replay-requests go together: the dataset a replay sent and its records")
    if replay_dataset is not None and not replay_dataset.is_file():
        fail_early(f"--replay-dataset: {replay_dataset} is not a file")
    key = os.environ.get(api_key_env) if api_key_env else None
    if api_key_env and not key:
        fail_early(f"--api-key-env: environment variable {api_key_env} is not set")
    url = url.rstrip("/")
    blocks, bt = _geometry(url, capacity_blocks, block_tokens)
    plan = SweepPlan(prompt_sizes=_ints(prompt_sizes, "--prompt-sizes"), repeats=repeats,
                     concurrency=_ints(concurrency, "--concurrency"), output_lengths=_ints(output_lengths, "--output-lengths"),
                     decode_tokens=decode_tokens, capacity_tokens=blocks * bt if blocks and bt else None,
                     max_model_len=max_model_len)
    err.print(f"calibrating against {url} (model {model!r}) ...")
    try:
        samples = run_sweep(url, model, plan, api_key=key)
    except RuntimeError as exc:
        fail_early(str(exc))
    measured = None
    if replay_requests is not None:
        try:
            measured = pl.read_parquet(replay_requests)
            samples = pl.concat([samples, replay_samples(measured)])
        except (OSError, ValueError, pl.exceptions.PolarsError) as exc:
            fail_early(f"{replay_requests}: {exc}")
    try:
        fit = fit_samples(samples, name=name, source=f"{url} model {model}", max_batch_tokens=max_batch_tokens)
    except ValueError as exc:
        fail_early(f"cannot fit: {exc}")
    if measured is not None and replay_dataset is not None:
        fit = _refine(fit, replay_dataset, measured, blocks, bt, max_seqs, max_batch_tokens, replay_time_scale)
    path = write_preset(fit, output or settings.output_root() / "calibration" / f"{name}.json")
    samples.write_parquet(path.parent / "fits" / f"{path.stem}.samples.parquet")
    e = fit.engine
    out.print(f"prefill ms = {e.pf2:.3g}·T² + {e.pf1:.4g}·T + {e.pf0:.3f} + {e.pf_ctx:.4g}·A/1000   (R² "
              f"{fit.prefill.r2:.3f}, |rel. residual| p50 {fit.prefill.rel_p50:.1%}, p90 {fit.prefill.rel_p90:.1%}, "
              f"n {fit.prefill.n})")
    out.print(f"decode ms  = {e.dc2:.3g}·u² + {e.dc1:.4g}·u + {e.dc0:.3f} + {e.dc_batch:.4g}·(batch−1) + "
              f"{e.dc_ctx:.4g}·C/1000   (R² {fit.decode.r2:.3f}, p50 {fit.decode.rel_p50:.1%}, "
              f"p90 {fit.decode.rel_p90:.1%}, n {fit.decode.n})")
    out.print(f"request ms = {e.request_ms:.2f} (outside the steps)")
    if fit.replay is not None:
        r = fit.replay
        out.print(f"matched to the replay: prefill × {r['prefill_load']:.3f}, decode × {r['decode_load']:.3f}; "
                  "errors before → after: " + ", ".join(f"{k} {100 * v:+.0f} → {100 * r['error_after'][k]:+.0f} %"
                                                         for k, v in r["error_before"].items()))
    out.print(f"preset written: {path}  (use: agenttrace serve-sim --engine {path})")


def _refine(fit: Fit, dataset: Path, measured: pl.DataFrame, blocks: int | None, bt: int | None, max_seqs: int,
            max_batch_tokens: int, time_scale: float) -> Fit:
    import dataclasses

    from agenttrace_pipeline.calibration.refine import refine
    from agenttrace_pipeline.replay.options import ReplayOptions, usable_blocks

    if blocks is None or bt is None:
        fail_early("--replay-dataset needs the server's KV geometry (--capacity-blocks and --block-tokens, or a vLLM "
                   "/metrics to read them from)")
    err.print(f"matching the simulated engine to the replay of {dataset} ...")
    try:
        r = refine(fit.engine, dataset, measured, block_tokens=bt, capacity_blocks=usable_blocks("vllm", blocks),
                   max_seqs=max_seqs, max_batch_tokens=max_batch_tokens, options=ReplayOptions(mode="fixed", time_scale=time_scale))
    except (OSError, ValueError) as exc:
        fail_early(f"--replay-dataset {dataset}: {exc}")
    return dataclasses.replace(fit, engine=r.engine, replay=r.to_dict())


def _geometry(url: str, blocks: int | None, bt: int | None) -> tuple[int | None, int | None]:
    """KV blocks and block size: as given, else from vLLM's cache_config_info, else unknown (fill = 0)."""
    if blocks and bt:
        return blocks, bt
    import httpx

    from agenttrace_pipeline.calibration.vllm_cpu import cache_config

    try:
        b, n = cache_config(httpx.get(f"{url}/metrics", timeout=10.0).text)
    except (httpx.HTTPError, ValueError) as exc:
        err.print(f"note: KV geometry unknown ({exc}); decode is fitted against batch size only")
        return blocks, bt
    return blocks or n, bt or b
