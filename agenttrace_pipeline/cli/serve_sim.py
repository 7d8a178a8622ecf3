"""`agenttrace serve-sim`: the simulated engine as an OpenAI-compatible server."""

from __future__ import annotations

from typing import Annotated

import typer

from agenttrace_pipeline.cli.console import err, fail_early


def serve_sim(
    host: Annotated[str, typer.Option(help="Address to bind (127.0.0.1 keeps it local).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    model: Annotated[str, typer.Option(help="Served model name.")] = "sim",
    capacity_blocks: Annotated[int, typer.Option(min=1, help="KV-cache blocks on the device.")] = 25_000,
    block_tokens: Annotated[int, typer.Option(min=1, help="Tokens per KV block.")] = 16,
    engine: Annotated[str, typer.Option(help="Cost-model preset name or JSON file.")] = "gpu-uncalibrated",
    policy: Annotated[str, typer.Option(help="Eviction policy: lru, fifo, lfu, session-lru, infinite.")] = "lru",
    max_seqs: Annotated[int, typer.Option(min=1, help="Requests batched at once.")] = 256,
    max_waiting: Annotated[int, typer.Option(min=0, help="Queue length past which requests get 429.")] = 4096,
    time_scale: Annotated[float, typer.Option(min=0, help="Wall seconds per modelled second (0: no waiting).")] = 1.0,
    error_rate: Annotated[float, typer.Option(min=0, max=1, help="Fault injection: share of requests failing with 500.")] = 0.0,
    cut_rate: Annotated[float, typer.Option(min=0, max=1, help="Fault injection: share of streams cut half-way.")] = 0.0,
    spike_rate: Annotated[float, typer.Option(min=0, max=1, help="Fault injection: share delayed by --spike-ms.")] = 0.0,
    spike_ms: Annotated[float, typer.Option(min=0)] = 500.0,
    seed: Annotated[int, typer.Option(help="Seed of replies and faults.")] = 0,
) -> None:
    """Serve /v1/completions, /v1/chat/completions, /v1/models, /health and /metrics (vLLM names) until Ctrl-C."""
    from agenttrace_pipeline.simserver.config import SimConfig
    from agenttrace_pipeline.simserver.serve import serve

    try:
        cfg = SimConfig(model=model, capacity_blocks=capacity_blocks, block_tokens=block_tokens, engine=engine,
                        policy=policy, max_seqs=max_seqs, max_waiting=max_waiting, time_scale=time_scale,
                        error_rate=error_rate, cut_rate=cut_rate, spike_rate=spike_rate, spike_ms=spike_ms, seed=seed)
        cfg.build()
    except ValueError as exc:
        fail_early(str(exc))
    err.print(f"simulated engine on http://{host}:{port} (model {model!r}, {capacity_blocks} blocks × {block_tokens})")
    serve(cfg, host, port)
