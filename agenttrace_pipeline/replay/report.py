"""One row per replay for the ``replay_runs`` table: what was asked, what was measured, the three hit rates."""

from __future__ import annotations

from typing import Any

import polars as pl

from agenttrace_pipeline.replay.options import ReplayOptions, ReplayResult

RUN_COLUMNS: dict[str, pl.DataType] = {
    "replay_id": pl.String(), "dataset_id": pl.String(),
    "endpoint_name": pl.String(), "endpoint_kind": pl.String(), "endpoint_url": pl.String(), "endpoint_model": pl.String(),
    "mode": pl.String(), "concurrency": pl.Int64(), "time_scale": pl.Float64(),
    "planned": pl.Int64(), "completed": pl.Int64(), "failed": pl.Int64(), "errors": pl.String(),
    "throughput_rps": pl.Float64(), "goodput_rps": pl.Float64(), "ttft_slo_ms": pl.Float64(),
    "ttft_p50_ms": pl.Float64(), "ttft_p99_ms": pl.Float64(), "itl_p50_ms": pl.Float64(), "e2e_p50_ms": pl.Float64(),
    "e2e_p99_ms": pl.Float64(), "lateness_p99_ms": pl.Float64(), "lateness_drift_ms_per_s": pl.Float64(),
    "degraded": pl.Boolean(), "hit_rate_simulator": pl.Float64(), "hit_rate_server_counters": pl.Float64(),
    "hit_rate_usage": pl.Float64(), "hit_rate_mismatch": pl.Boolean(), "frozen_counter": pl.Boolean(),
    "run_id": pl.String(),
}


def run_row(res: ReplayResult, options: ReplayOptions, identity: dict[str, str]) -> dict[str, Any]:
    """The ``replay_runs`` columns (but the ids) of one replay; ``identity`` names the endpoint, never its key."""
    import orjson

    s, h = res.summary, res.hit_rates
    return {**identity, "mode": options.mode, "concurrency": options.concurrency, "time_scale": options.time_scale,
            "planned": s["planned"], "completed": s["completed"], "failed": s["failed"],
            "errors": orjson.dumps(s["errors"]).decode(), "throughput_rps": s["throughput_rps"],
            "goodput_rps": s["goodput_rps"], "ttft_slo_ms": s["ttft_slo_ms"], "ttft_p50_ms": s["ttft_ms"]["p50"],
            "ttft_p99_ms": s["ttft_ms"]["p99"], "itl_p50_ms": s["itl_ms"]["p50"], "e2e_p50_ms": s["e2e_ms"]["p50"],
            "e2e_p99_ms": s["e2e_ms"]["p99"], "lateness_p99_ms": s["lateness_ms"]["p99"],
            "lateness_drift_ms_per_s": s["lateness_ms"]["drift_ms_per_s"], "degraded": bool(s["degraded"]),
            "hit_rate_simulator": h["simulator"], "hit_rate_server_counters": h["server_counters"],
            "hit_rate_usage": h["usage_cached_tokens"], "hit_rate_mismatch": bool(h["mismatch"]),
            "frozen_counter": bool(h["frozen_counter"])}
