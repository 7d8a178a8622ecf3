"""`agenttrace replay`: a Mooncake dataset replayed against an OpenAI-compatible server."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from agenttrace_pipeline.cli.console import err, fail_early, out


def replay(
    input: Annotated[Path, typer.Option("--input", "-i", help="Mooncake JSONL dataset.")],
    url: Annotated[str, typer.Option(help="Server base URL (without /v1); 'virtual' with --clock virtual.")],
    model: Annotated[str, typer.Option(help="Model name the server serves.")],
    endpoint: Annotated[str, typer.Option(help="chat or completions.")] = "completions",
    kind: Annotated[str, typer.Option(help="Server kind: vllm, sglang, llamacpp, sim.")] = "vllm",
    mode: Annotated[str, typer.Option(help="fixed (timestamps and delays) or closed (N sessions at once).")] = "fixed",
    concurrency: Annotated[int, typer.Option(min=1)] = 32,
    time_scale: Annotated[float, typer.Option(min=0, help="Multiplies timestamps and delays.")] = 1.0,
    max_requests: Annotated[int | None, typer.Option(min=1)] = None,
    duration: Annotated[float | None, typer.Option(min=0, help="Seconds after which nothing more is sent.")] = None,
    warmup: Annotated[int, typer.Option(min=0, help="First requests left out of the statistics.")] = 0,
    clock: Annotated[str, typer.Option(help="wall, or virtual (simulated engine in process).")] = "wall",
    capacity_blocks: Annotated[int | None, typer.Option(min=1, help="Server KV blocks, for the simulator's prediction.")] = None,
    block_tokens: Annotated[int, typer.Option(min=1, help="Server tokens per KV block.")] = 16,
    ttft_slo_ms: Annotated[float, typer.Option(min=0, help="Goodput counts requests with TTFT under this.")] = 2000.0,
    sender_priority: Annotated[str, typer.Option(help="Scheduling priority of the sending thread (wall clock, best "
                                                 "effort): normal, high (nice -10), realtime (SCHED_FIFO), or auto "
                                                 "(= high; realtime only on request).")] = "auto",
    predict_engine: Annotated[str | None, typer.Option(help="Engine preset (name or JSON path) timing the simulator's "
                                                       "hit-rate prediction; default the GPU-class baseline. Pass the "
                                                       "server's calibrated preset where there is one.")] = None,
    api_key_env: Annotated[str | None, typer.Option(help="Name of the environment variable holding the API key.")] = None,
    as_json: Annotated[Path | None, typer.Option("--json", help="Write the summary and hit rates to this file.")] = None,
    requests_out: Annotated[Path | None, typer.Option("--requests", help="Write the per-request records to this Parquet "
                                                      "file (agenttrace calibrate --replay-requests reads it).")] = None,
) -> None:
    """Replay a dataset; prints TTFT/ITL/latency percentiles, throughput, goodput, the three hit rates, lateness, errors."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from agenttrace_pipeline.replay.options import EndpointSpec, ReplayOptions
    from agenttrace_pipeline.replay.runner import run_replay

    key = None
    if api_key_env:
        key = os.environ.get(api_key_env)
        if not key:
            fail_early(f"--api-key-env: environment variable {api_key_env} is not set")
    try:
        ep = EndpointSpec(url.rstrip("/"), model, kind, key, capacity_blocks, block_tokens)
        opts = ReplayOptions(endpoint=endpoint, mode=mode, concurrency=concurrency, time_scale=time_scale,  # type: ignore[arg-type]
                             max_requests=max_requests, duration_s=duration, warmup=warmup, clock=clock,  # type: ignore[arg-type]
                             ttft_slo_ms=ttft_slo_ms, sender_priority=sender_priority,  # type: ignore[arg-type]
                             predict_engine=predict_engine)
    except ValueError as exc:
        fail_early(str(exc))
    for name, value, allowed in (("--endpoint", endpoint, ("chat", "completions")), ("--mode", mode, ("fixed", "closed")),
                                 ("--clock", clock, ("wall", "virtual"))):
        if value not in allowed:
            fail_early(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    with Progress(BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err.get(), transient=True) as bar:
        task = bar.add_task("replay", total=None)
        res = run_replay(input, ep, opts, progress=lambda d, t: bar.update(task, completed=d, total=t))
    report: dict[str, Any] = {"summary": res.summary, "hit_rates": res.hit_rates, "endpoint": ep.identity()}
    _print(report)
    if as_json:
        as_json.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY))
    if requests_out:
        res.requests.write_parquet(requests_out)


def _print(r: dict[str, Any]) -> None:
    s, h = r["summary"], r["hit_rates"]
    out.print(f"requests {s['completed']}/{s['measured']} ok, {s['failed']} failed {s['errors'] or ''}")
    out.print(f"throughput {s['throughput_rps']:.1f} req/s, {s['output_tokens_per_s']:.0f} tok/s; "
              f"goodput {s['goodput_rps']:.1f} req/s (TTFT ≤ {s['ttft_slo_ms']:.0f} ms)")
    for name in ("ttft_ms", "itl_ms", "e2e_ms", "lateness_ms"):
        p = s[name]
        out.print(f"{name:12} p50 {p['p50']:9.2f}  p90 {p['p90']:9.2f}  p99 {p['p99']:9.2f}  max {p['max']:9.2f}")
    out.print(f"lateness drift {s['lateness_ms']['drift_ms_per_s']:.3f} ms/s{' DEGRADED' if s['degraded'] else ''} "
              f"(sender priority {s['sender_priority']})")
    if s.get("preemptions") is not None:
        out.print(f"server preemptions during the replay: {s['preemptions']}")
    fmt = {k: "n/a" if h[k] is None else f"{100 * h[k]:.2f} %" for k in ("simulator", "server_counters", "usage_cached_tokens")}
    out.print(f"hit rate: simulator {fmt['simulator']}, server counters {fmt['server_counters']}, "
              f"usage cached_tokens {fmt['usage_cached_tokens']}"
              f"{' MISMATCH' if h['mismatch'] else ''}{' FROZEN COUNTER' if h['frozen_counter'] else ''}")
