"""Replays of each seed's dataset against the configured inference endpoint (wiring only: the replay is in
replay/, the endpoint in lib/endpoint.py)."""

import uuid
from pathlib import Path
from typing import Literal

import dagster as dg
import polars as pl
from pydantic import Field

from agenttrace_pipeline.defs.partitions import seeds
from agenttrace_pipeline.lib.endpoint import InferenceEndpoint
from agenttrace_pipeline.lib.warehouse import WarehouseResource, record_lineage
from agenttrace_pipeline.redact import md_table
from agenttrace_pipeline.replay.report import run_row


class ReplayConfig(dg.Config):
    mode: Literal["fixed", "closed"] = Field(default="closed", description="closed: N sessions at once; fixed: "
                                             "the dataset's timestamps and delays (times time_scale).")
    concurrency: int = Field(default=16, ge=1)
    max_requests: int = Field(default=100, ge=1, description="Replay the first N requests of the dataset (the "
                              "simulated engine decodes every token of every reply, so a whole dataset takes minutes).")
    time_scale: float = Field(default=0.0, ge=0, description="Multiplies timestamps and delays (0: no waiting).")
    warmup: int = Field(default=0, ge=0)
    endpoint_api: Literal["completions", "chat"] = "completions"


@dg.asset(partitions_def=seeds, backfill_policy=dg.BackfillPolicy.single_run(), deps=["synthetic_dataset"],
          kinds={"duckdb", "parquet"}, automation_condition=dg.AutomationCondition.eager())
def replay_run(context: dg.AssetExecutionContext, config: ReplayConfig, warehouse: WarehouseResource,
               endpoint: InferenceEndpoint) -> dg.MaterializeResult:
    """Each seed's dataset replayed against the ``endpoint`` resource (default: the built-in simulated engine,
    started for the replay and stopped afterwards): every request in ``replay_requests`` (send times, lateness,
    TTFT, ITL, tokens, errors) and one row per replay in ``replay_runs`` (percentiles, throughput, goodput, the
    three hit rates — simulator, server counters, usage — and the endpoint's identity, never its key)."""
    from agenttrace_pipeline.replay.options import ReplayOptions
    from agenttrace_pipeline.replay.runner import run_replay

    wh = warehouse.get()
    options = ReplayOptions(endpoint=config.endpoint_api, mode=config.mode, concurrency=config.concurrency,
                            time_scale=config.time_scale, max_requests=config.max_requests, warmup=config.warmup)
    ident = endpoint.identity()
    rows, last = 0, None
    for key in context.partition_keys:
        ds = wh.read_partition("synthetic_datasets", key)
        if ds is None:
            raise dg.Failure(f"seed {key}: no synthetic_datasets row; materialise synthetic_dataset first")
        info = ds.row(0, named=True)
        replay_id = f"{info['dataset_id']}-{ident['endpoint_name']}-{uuid.uuid4().hex[:8]}"
        context.log.info(f"seed {key}: replaying against {ident['endpoint_kind']} {ident['endpoint_url'] or '(started here)'}")
        with endpoint.open() as spec:
            res = run_replay(Path(info["path"]) / "dataset.jsonl", spec, options)
        ids = {"replay_id": pl.lit(replay_id), "dataset_id": pl.lit(info["dataset_id"]), "run_id": pl.lit(context.run.run_id)}
        files = [wh.write_partition("replay_requests", "seed", key, res.requests.with_columns(**ids)),
                 wh.write_partition("replay_runs", "seed", key, pl.DataFrame(
                     [run_row(res, options, ident) | {"replay_id": replay_id, "dataset_id": info["dataset_id"],
                                                      "run_id": context.run.run_id}]))]
        record_lineage(context, wh, {"dataset": info["dataset_sha256"], "endpoint": ident["endpoint_name"]}, files,
                       res.requests.height, partition_key=key)
        rows, last = rows + res.requests.height, res
    meta: dict = {"dagster/row_count": rows, "seeds": list(context.partition_keys), **ident}
    if last is not None:
        s, h = last.summary, last.hit_rates
        meta["summary"] = dg.MetadataValue.md(md_table(["measure", "p50", "p90", "p99"], [
            (name, *(f"{s[name][p]:,.1f}" for p in ("p50", "p90", "p99"))) for name in ("ttft_ms", "itl_ms", "e2e_ms", "lateness_ms")]))
        meta["hit_rates"] = dg.MetadataValue.md(md_table(["simulator", "server counters", "usage cached_tokens", "mismatch"], [
            tuple("n/a" if h[k] is None else f"{h[k]:.2%}" for k in ("simulator", "server_counters", "usage_cached_tokens"))
            + (str(h["mismatch"]),)]))
        meta["throughput_rps"] = round(float(s["throughput_rps"]), 2)
    return dg.MaterializeResult(metadata=meta)
