"""Settings of the simulated engine (one place, shared by the server, the CLI and the virtual clock)."""

from __future__ import annotations

from dataclasses import dataclass

from agenttrace_pipeline.cachesim.cost_model import EngineCost, load_engine
from agenttrace_pipeline.simserver.engine import Engine
from agenttrace_pipeline.simserver.pool import BlockPool


@dataclass(frozen=True)
class SimConfig:
    """``capacity_blocks`` of ``block_tokens`` tokens (None = infinite), eviction ``policy``, ``engine`` preset
    (name, JSON path, or an :class:`EngineCost`), batching limits, queue limit (429 past it), ``time_scale`` (wall seconds per modelled
    second; 0 = as fast as possible), request-size limit, and fault injection rates (per request)."""

    model: str = "sim"
    capacity_blocks: int | None = 25_000
    block_tokens: int = 16
    policy: str = "lru"
    engine: str | EngineCost = "gpu-uncalibrated"
    max_seqs: int = 256
    max_batch_tokens: int | None = None
    watermark: float = 0.01
    max_waiting: int = 4096
    max_model_len: int = 1 << 20
    time_scale: float = 1.0
    max_request_bytes: int = 8 << 20
    seed: int = 0
    error_rate: float = 0.0
    cut_rate: float = 0.0
    spike_rate: float = 0.0
    spike_ms: float = 500.0

    def __post_init__(self) -> None:
        for name in ("error_rate", "cut_rate", "spike_rate"):
            v = getattr(self, name)
            if not 0 <= v <= 1:
                raise ValueError(f"{name} must be in [0, 1], got {v}")
        if self.time_scale < 0:
            raise ValueError(f"time_scale must be >= 0, got {self.time_scale}")
        if self.block_tokens < 1:
            raise ValueError(f"block_tokens must be >= 1, got {self.block_tokens}")

    def cost(self) -> EngineCost:
        return load_engine(self.engine)

    def build(self) -> Engine:
        """A fresh engine with an empty block pool."""
        return Engine(self.cost(), BlockPool(self.capacity_blocks, self.block_tokens, self.policy),
                      max_seqs=self.max_seqs, max_batch_tokens=self.max_batch_tokens, watermark=self.watermark,
                      max_waiting=self.max_waiting)
