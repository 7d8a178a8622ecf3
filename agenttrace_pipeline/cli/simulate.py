"""`agenttrace simulate`: a KV-cache study of a dataset (hit rate per capacity and policy, by layer, TTFT)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from agenttrace_pipeline.cli.console import err, fail_early, out


def simulate(
    input: Annotated[Path, typer.Option("--input", "-i", help="A Mooncake dataset (JSONL, or a run directory).")],
    semantics: Annotated[str, typer.Option(help="simple (leading run of seen ids, FAST'25) or vllm (chained full "
                                           "blocks, n-1 cap, output blocks cached).")] = "simple",
    policy: Annotated[list[str] | None, typer.Option(help="lru, fifo, lfu, s3fifo, ttl, infinite, session-lru "
                                                     "(repeat for several) [default: lru, s3fifo].")] = None,
    capacity: Annotated[list[int] | None, typer.Option(min=1, help="Cache blocks per replica (repeat for a "
                                                       "sweep) [default: 1k…64k].")] = None,
    capacity_gb: Annotated[float | None, typer.Option(help="Cache size in GB instead of blocks "
                                                      "(needs --kv-bytes-per-token).")] = None,
    kv_bytes_per_token: Annotated[int | None, typer.Option(min=1, help="KV bytes per token of the model.")] = None,
    replicas: Annotated[int, typer.Option(min=1, help="Replicas, each with its own cache.")] = 1,
    routing: Annotated[str, typer.Option(help="random, round-robin, session-affinity, prefix, prefix-load-cap.")]
    = "round-robin",
    host_capacity: Annotated[int, typer.Option(min=0, help="Host-tier blocks per replica (0: none).")] = 0,
    concurrency: Annotated[int, typer.Option(min=0, help="Sessions in flight (closed loop, gives TTFT under "
                                             "load); 0 replays the file's order without timing.")] = 32,
    ttl: Annotated[float | None, typer.Option(help="Seconds an idle session's blocks live (policy ttl).")] = None,
    engine: Annotated[str | None, typer.Option(help="Engine cost preset name or JSON file [default: "
                                               "gpu-uncalibrated].")] = None,
    as_json: Annotated[Path | None, typer.Option("--json", help="Also write the full study as JSON here.")] = None,
) -> None:
    """Simulate a dataset through a KV cache: hit rate per policy and capacity, by prefix layer and tier, with
    TTFT percentiles from the engine cost model, and the theoretical (infinite-cache) hit rate beside them."""
    import orjson
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from agenttrace_pipeline.analysis.cache_study import DEFAULT_CAPACITIES, DEFAULT_POLICIES, StudyOptions, capacity_from_bytes, run_study
    from agenttrace_pipeline.store.atomic import atomic_writer

    dataset = input / "dataset.jsonl" if input.is_dir() else input
    if not dataset.is_file():
        fail_early(f"--input {input}: no such dataset file")
    caps: list[int | None] = list(capacity or [])
    if capacity_gb is not None:
        if kv_bytes_per_token is None:
            fail_early("--capacity-gb needs --kv-bytes-per-token (KV bytes per token of your model)")
        caps.append(capacity_from_bytes(capacity_gb, kv_bytes_per_token or 1, 512))
    opts = StudyOptions(semantics=semantics, policies=tuple(policy or DEFAULT_POLICIES),
                        capacities=tuple(caps or DEFAULT_CAPACITIES), concurrency=concurrency, replicas=replicas,
                        routing=routing, host_capacity=host_capacity, ttl_s=ttl, engine=engine)
    with Progress(TextColumn("simulating"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err.get(),
                  transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task("runs", total=len(opts.run_configs()) + 1)
        try:
            study = run_study(dataset, opts, progress=lambda done, total: bar.update(task, completed=done))
        except (ValueError, OSError) as exc:
            fail_early(f"{dataset}: {exc}", code=1)
    _print_study(study)
    if as_json is not None:
        with atomic_writer(as_json) as fh:
            fh.write(orjson.dumps(study.to_dict(), option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY))
        out.print(f"study written to {as_json}")


def _print_study(study) -> None:
    import polars as pl
    from rich.table import Table

    o = study.options
    out.print(f"{study.sessions:,} sessions, {study.requests:,} requests; semantics {o.semantics}, "
              f"{o.replicas} replica(s) ({o.routing}), layers from the {study.layer_source}")
    t = Table(title="hit rate by policy and capacity (tokens served from cache / prompt tokens)")
    for col in ("policy", "capacity (blocks)", "hit rate", "TTFT p50 ms", "TTFT p99 ms"):
        t.add_column(col, justify="left" if col == "policy" else "right")
    for r in study.curve().iter_rows(named=True):
        cap = "infinite" if r["capacity_blocks"] is None else f"{r['capacity_blocks']:,}"
        t.add_row(r["policy"], cap, f"{r['hit_rate']:.2%}", _ms(r["ttft_p50_ms"]), _ms(r["ttft_p99_ms"]))
    out.print(t)
    layers = study.table.filter((pl.col("layer") != "all") & (pl.col("tier") == "all"))
    if layers.height:
        pivot = layers.pivot(on="layer", index=["policy", "capacity_blocks"], values="hit_rate", aggregate_function="first")
        lt = Table(title="hit rate by prefix layer")
        for col in pivot.columns:
            lt.add_column(col, justify="right")
        for row in pivot.iter_rows():
            lt.add_row(*(("infinite" if v is None and i == 1 else str(v)) if i < 2 else f"{v:.2%}" if v is not None
                         else "–" for i, v in enumerate(row)))
        out.print(lt)
    out.print(f"theoretical (infinite cache) hit rate: {study.theoretical_hit_rate:.2%}")


def _ms(v: float | None) -> str:
    return "–" if v is None else f"{v:,.0f}"
