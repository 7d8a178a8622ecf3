"""A KV-cache study of one dataset: hit rate, by layer and tier, and TTFT at every (policy, capacity).

This is what ``agenttrace simulate`` prints and what the ``cache_simulation`` asset stores: it prepares the
dataset once and runs :func:`agenttrace_pipeline.cachesim.simulate.sweep` over policies × capacities, plus the
theoretical (infinite-cache) run, and lays the results out as one table.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

DEFAULT_POLICIES = ("lru", "s3fifo")
DEFAULT_CAPACITIES = (1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000)
DEFAULT_CONCURRENCY = 32
LAYERS = ("L1", "L1.5", "L2", "L3")

STUDY_COLUMNS: dict[str, pl.DataType] = {
    "semantics": pl.String(), "policy": pl.String(), "capacity_blocks": pl.Int64(), "replicas": pl.Int64(),
    "routing": pl.String(), "concurrency": pl.Int64(), "tier": pl.String(), "layer": pl.String(),
    "prompt_tokens": pl.Float64(), "hit_tokens": pl.Float64(), "miss_tokens": pl.Float64(), "hit_rate": pl.Float64(),
    "ttft_p50_ms": pl.Float64(), "ttft_p90_ms": pl.Float64(), "ttft_p99_ms": pl.Float64(),
    "itl_p50_ms": pl.Float64(), "imbalance": pl.Float64(),
}


@dataclass(frozen=True)
class StudyOptions:
    """What to simulate. ``capacities``: blocks per replica (None = infinite); ``concurrency``: sessions in flight
    (closed loop, which gives TTFT under load); 0 replays the file's order with no timing (``load='file'``)."""

    semantics: str = "simple"
    policies: Sequence[str] = DEFAULT_POLICIES
    capacities: Sequence[int | None] = DEFAULT_CAPACITIES
    concurrency: int = DEFAULT_CONCURRENCY
    replicas: int = 1
    routing: str = "round-robin"
    host_capacity: int = 0
    ttl_s: float | None = None
    engine: str | None = None
    engine_block: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def run_configs(self) -> list[dict[str, Any]]:
        load = {"load": "closed", "concurrency": self.concurrency} if self.concurrency else {"load": "file"}
        common = dict(replicas=self.replicas, routing=self.routing, host_capacity=self.host_capacity,
                      ttl_s=self.ttl_s, engine=self.engine, **load, **self.extra)
        return [dict(policy=p, capacity=c, **common) for p in self.policies for c in self.capacities]


def capacity_from_bytes(gb: float, kv_bytes_per_token: int, block_size: int) -> int:
    """Blocks that ``gb`` gigabytes of KV cache hold at ``kv_bytes_per_token`` bytes per token."""
    if gb <= 0 or kv_bytes_per_token <= 0:
        raise ValueError("--capacity-gb and --kv-bytes-per-token must be positive")
    return max(1, math.floor(gb * 1e9 / (kv_bytes_per_token * block_size)))


@dataclass
class CacheStudy:
    options: StudyOptions
    sessions: int
    requests: int
    layer_source: str
    theoretical_hit_rate: float | None
    table: pl.DataFrame  # STUDY_COLUMNS, one row per (run, tier, layer)
    runs: list[dict[str, Any]]

    def curve(self) -> pl.DataFrame:
        """Hit rate per (policy, capacity), all layers and tiers."""
        return self.table.filter((pl.col("layer") == "all") & (pl.col("tier") == "all")).select(
            "policy", "capacity_blocks", "hit_rate", "ttft_p50_ms", "ttft_p99_ms")

    def to_dict(self) -> dict[str, Any]:
        return {"sessions": self.sessions, "requests": self.requests, "layer_source": self.layer_source,
                "theoretical_hit_rate": self.theoretical_hit_rate, "rows": self.table.to_dicts(), "runs": self.runs}


def _rows(r: Any) -> list[dict[str, Any]]:
    lat = r.latency or {}
    ttft, itl = lat.get("ttft_ms", {}), lat.get("itl_ms", {})
    base = {"semantics": r.params.get("semantics"), "policy": r.policy, "capacity_blocks": r.capacity,
            "replicas": r.params.get("replicas", 1), "routing": r.params.get("routing"),
            "concurrency": r.params.get("concurrency"), "ttft_p50_ms": ttft.get("p50"), "ttft_p90_ms": ttft.get("p90"),
            "ttft_p99_ms": ttft.get("p99"), "itl_p50_ms": itl.get("p50"), "imbalance": r.imbalance}

    def row(tier: str, layer: str, prompt: float, hit: float) -> dict[str, Any]:
        return {**base, "tier": tier, "layer": layer, "prompt_tokens": float(prompt), "hit_tokens": float(hit),
                "miss_tokens": float(prompt - hit), "hit_rate": hit / prompt if prompt else 0.0}

    out = [row("all", "all", r.prompt_tokens, r.hit_tokens)]
    if r.host_hit_tokens:
        out += [row("device", "all", r.prompt_tokens, r.hit_tokens - r.host_hit_tokens),
                row("host", "all", r.prompt_tokens, r.host_hit_tokens)]
    out += [row("all", name, d["prompt_tokens"], d["hit_tokens"]) for name, d in r.by_layer.items() if d["prompt_tokens"]]
    return out


def run_study(dataset: str | Path | Any, options: StudyOptions,
              progress: Callable[[int, int], None] | None = None) -> CacheStudy:
    """Simulate ``dataset`` (a Mooncake file, a run directory's dataset.jsonl, or a cachesim ``Workload``) at
    every policy × capacity of ``options``; ``progress(done_runs, total_runs)``."""
    from agenttrace_pipeline.cachesim.simulate import prepare, run_one

    prep = prepare(dataset, options.semantics, options.engine_block)
    configs = options.run_configs()
    theo_cfg = {k: v for k, v in configs[0].items() if k not in ("policy", "capacity", "ttl_s")} if configs else {}
    results = []
    for i, cfg in enumerate([*configs, dict(theo_cfg, policy="infinite", capacity=None)]):
        results.append(run_one(prep, **cfg))
        if progress:
            progress(i + 1, len(configs) + 1)
    *runs, theo = results
    rows = [row for r in results for row in _rows(r)]
    table = pl.DataFrame(rows, schema=STUDY_COLUMNS, orient="row") if rows else pl.DataFrame(schema=STUDY_COLUMNS)
    w = prep.workload
    return CacheStudy(options, w.n_sessions, w.n_requests, w.layer_source, theo.hit_rate, table,
                      [r.row() for r in results])
