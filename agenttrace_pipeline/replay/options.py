"""What a replay is asked to do, where it sends, and the shape of what it returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, overload

import polars as pl


@dataclass(frozen=True)
class EndpointSpec:
    """An OpenAI-compatible server: ``url`` (base, without ``/v1``), served ``model``, ``kind`` (vllm, sglang,
    llamacpp, sim), the API key's value (never logged or stored; the CLI reads it from a named variable), and
    what the cache simulator needs to predict its hit rate: KV capacity in blocks and tokens per block."""

    url: str
    model: str
    kind: str = "vllm"
    api_key: str | None = field(default=None, repr=False)
    capacity_blocks: int | None = None
    block_tokens: int = 16

    @property
    def usable_blocks(self) -> int | None:
        """Blocks that can cache content (see :func:`usable_blocks`)."""
        return usable_blocks(self.kind, self.capacity_blocks)

    def identity(self) -> dict[str, Any]:
        """Everything but the key, for records and the warehouse."""
        return {"url": self.url, "model": self.model, "kind": self.kind, "capacity_blocks": self.capacity_blocks,
                "block_tokens": self.block_tokens}


@overload
def usable_blocks(kind: str, reported: int) -> int: ...
@overload
def usable_blocks(kind: str, reported: None) -> None: ...
def usable_blocks(kind: str, reported: int | None) -> int | None:
    """Of the KV blocks a server reports, those that can cache content: vLLM counts in ``num_gpu_blocks`` one
    block it sets aside and never fills (its null block)."""
    if reported is None:
        return None
    return reported - 1 if kind == "vllm" and reported > 1 else reported


@dataclass(frozen=True)
class ReplayOptions:
    """``mode``: fixed (turn 0 at its timestamp, later turns ``delay`` after the previous response) or closed
    (``concurrency`` sessions at once). ``time_scale`` multiplies timestamps and delays; ``duration_s`` stops
    sending once passed; ``max_requests`` keeps the first rows; ``warmup`` requests (first sent) are left out of
    the statistics. ``clock`` virtual drives the simulated engine in process (endpoint kind ``sim`` only).
    ``failure_policy``: after a failed turn, ``skip`` records the session's later turns as skipped (their prompts
    would need the lost reply); ``continue`` sends them with an empty reply in its place. ``sender_priority``
    (wall clock only): the scheduling priority of the sending thread during the replay, best effort — ``high``
    (nice −10), ``realtime`` (SCHED_FIFO), ``normal``, or ``auto`` (= high: real-time scheduling is opt-in,
    because a real-time thread outranks everything else on the machine, the server under test included); see
    :mod:`agenttrace_pipeline.replay.priority`. ``predict_engine``: the engine preset (name or JSON path) that
    times the cache simulator's prediction (when requests overlap, longer requests pin more blocks); None is the
    GPU-class baseline — pass the server's calibrated preset where there is one."""

    endpoint: Literal["completions", "chat"] = "completions"
    mode: Literal["fixed", "closed"] = "fixed"
    concurrency: int = 32
    time_scale: float = 1.0
    duration_s: float | None = None
    max_requests: int | None = None
    warmup: int = 0
    clock: Literal["wall", "virtual"] = "wall"
    timeout_s: float = 600.0
    pool_size: int = 256
    ttft_slo_ms: float = 2000.0
    degraded_p99_ms: float = 50.0
    scrape_every_s: float = 1.0
    flush_every: int = 256
    failure_policy: Literal["skip", "continue"] = "skip"
    flush_cache: bool = False
    sender_priority: Literal["auto", "normal", "high", "realtime"] = "auto"
    predict_engine: str | None = None

    def __post_init__(self) -> None:
        if self.predict_engine is not None:  # a wrong preset is said now, not after the replay
            from agenttrace_pipeline.cachesim.cost_model import load_engine

            load_engine(self.predict_engine)
        if self.mode == "closed" and self.concurrency < 1:
            raise ValueError(f"concurrency must be >= 1 in closed mode, got {self.concurrency}")
        if self.time_scale < 0:
            raise ValueError(f"time_scale must be >= 0, got {self.time_scale}")
        if self.sender_priority not in ("auto", "normal", "high", "realtime"):
            raise ValueError(f"sender_priority must be auto, normal, high or realtime, got {self.sender_priority!r}")

    def priority_level(self) -> Literal["normal", "high", "realtime"]:
        """The sending thread's priority asked for: ``sender_priority`` with ``auto`` resolved by the mode."""
        if self.sender_priority == "auto":
            return "high"
        return self.sender_priority


SCHEMA: dict[str, Any] = {
    "row": pl.Int64, "session": pl.Int64, "turn": pl.Int64, "warmup": pl.Boolean,
    "target_ms": pl.Float64, "sent_ms": pl.Float64, "lateness_ms": pl.Float64,
    "ttft_ms": pl.Float64, "e2e_ms": pl.Float64, "itl_ms": pl.List(pl.Float64),
    "expected_prompt_tokens": pl.Int64, "prompt_tokens": pl.Int64, "completion_tokens": pl.Int64,
    "cached_tokens": pl.Int64, "finish_reason": pl.Utf8, "status": pl.Int64, "error": pl.Utf8,
}


def frame(records: list[dict[str, Any]]) -> pl.DataFrame:
    """Per-request records as a frame with :data:`SCHEMA`."""
    return pl.DataFrame(records, schema=SCHEMA)


@dataclass
class ReplayResult:
    """``requests``: one row per planned request (:data:`SCHEMA`); ``summary``: percentiles, throughput,
    goodput, lateness, errors, token-rule deviation; ``hit_rates``: simulator / server counters / usage."""

    requests: pl.DataFrame
    summary: dict[str, Any]
    hit_rates: dict[str, Any]
