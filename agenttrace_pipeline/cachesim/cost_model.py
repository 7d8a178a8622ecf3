"""Engine cost model: how long prefill and decode take, shared by the cache simulation and a simulated server.

* one prefill step: ``pf2·T² + pf1·T + pf0 + pf_ctx·A/1000`` ms, ``T`` = the uncached prompt tokens in the
  step (a step holds at most ``max_batch_tokens``, so long prompts take several), ``A`` = the sum over the
  step's chunks of chunk tokens × tokens before the chunk (the attention over an already cached or computed
  prefix: cached tokens are not recomputed, but every new token still reads them), plus moving host-tier hits
  to the device: ``host tokens × kv_bytes_per_token / host_gbps``;
* one decode step: ``max(floor, dc2·u² + dc1·u + dc0 + dc_batch·(batch − 1) + dc_ctx·K)`` ms, ``u`` =
  KV-cache fill (0..1), ``batch`` = requests decoding together, ``K`` = Σ over them of
  ``(c/1000)^dc_ctx_exp``, ``c`` a request's context tokens (prompt plus generated: what the step's attention
  reads; an exponent below 1 says a token of context costs less the longer the context, as on vLLM's CPU build);
* ``request_ms`` per request outside the steps (HTTP, tokenising, the engine's input and output processing):
  a request reaches the scheduler that long after it arrives.

The three context and request terms are 0 in the GPU baseline (which has no such terms); calibrated presets fit
them (see :mod:`agenttrace_pipeline.calibration.fit`).

Presets: ``gpu-uncalibrated`` is the published uncalibrated baseline of Dynamo's offline replay (REFERENCE
§7: prefill 4.21e-7·T² + 0.0152·T + 16.5 ms, decode −25.74·u² + 54.01·u + 5.74 ms, floor 1 ms; it has no
batch term, so ``dc_batch`` is 0 and batch size acts through the KV fill). Calibrated presets are JSON files
with the same fields (plus ``name`` and ``source``), read by :func:`load_engine` from a path or from
``$AGENTTRACE_ENGINE_PRESETS`` (a folder, default ``cachesim/presets`` in the package).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import orjson

PRESET_DIR = Path(__file__).resolve().parent / "presets"


@dataclass(frozen=True)
class EngineCost:
    name: str = "gpu-uncalibrated"
    source: str = "Dynamo offline replay, uncalibrated timing baseline (REFERENCE §7)"
    calibrated: bool = False
    pf2: float = 4.21e-7
    pf1: float = 0.0152
    pf0: float = 16.5
    dc2: float = -25.74
    dc1: float = 54.01
    dc0: float = 5.74
    dc_batch: float = 0.0
    floor_ms: float = 1.0
    kv_bytes_per_token: float = 131072.0  # 128 KiB: a 7-8B model in 16-bit (32 layers × 8 KV heads × 128 × 2 × 2)
    host_gbps: float = 25.0  # host<->device bandwidth, GB/s (PCIe 4.0 x16 effective)
    max_batch_tokens: float = 8192.0  # prefill tokens per step (vLLM's max_num_batched_tokens); 0 = no limit
    pf_ctx: float = 0.0  # ms per 1,000 (uncached token × prefix token) pairs a prefill step attends
    dc_ctx: float = 0.0  # ms per decode step per request with 1,000 context tokens (see ctx_units)
    request_ms: float = 0.0  # per request, outside the steps: time from arrival to the scheduler
    dc_ctx_exp: float = 1.0  # how a request's decode attention grows with its context: (c/1000)^dc_ctx_exp

    def prefill_ms(self, uncached_tokens: float | np.ndarray, attended: float | np.ndarray = 0.0) -> float | np.ndarray:
        """One prefill step of ``uncached_tokens`` whose chunks attend ``attended`` (tokens × prefix tokens)."""
        t = np.asarray(uncached_tokens, np.float64)
        return self.pf2 * t * t + self.pf1 * t + self.pf0 + self.pf_ctx * np.asarray(attended, np.float64) / 1e3

    def decode_ms(self, batch: float | np.ndarray, fill: float | np.ndarray,
                  context: float | np.ndarray = 0.0) -> float | np.ndarray:
        """One decode step of ``batch`` requests at KV fill ``fill`` whose contexts make ``context`` units
        (:meth:`ctx_units` summed over the requests)."""
        u = np.asarray(fill, np.float64)
        step = (self.dc2 * u * u + self.dc1 * u + self.dc0 + self.dc_batch * (np.asarray(batch) - 1)
                + self.dc_ctx * np.asarray(context, np.float64))
        return np.maximum(self.floor_ms, step)

    def ctx_units(self, tokens: float | np.ndarray) -> float | np.ndarray:
        """One decoding request's context units: ``(tokens/1000)^dc_ctx_exp``."""
        return (np.asarray(tokens, np.float64) / 1e3) ** self.dc_ctx_exp

    def transfer_ms(self, host_tokens: float) -> float:
        return 0.0 if self.host_gbps <= 0 else host_tokens * self.kv_bytes_per_token / (self.host_gbps * 1e9) * 1e3

    def params(self) -> np.ndarray:
        """The kernel's parameter vector (order of ``eventloop.E_*``)."""
        return np.array([self.pf2, self.pf1, self.pf0, self.dc2, self.dc1, self.dc0, self.dc_batch, self.floor_ms,
                         self.kv_bytes_per_token, self.host_gbps, self.max_batch_tokens, self.pf_ctx, self.dc_ctx,
                         self.request_ms, self.dc_ctx_exp], np.float64)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


BUILTIN = {"gpu-uncalibrated": EngineCost()}


def preset_dir() -> Path:
    env = os.environ.get("AGENTTRACE_ENGINE_PRESETS")
    return Path(env).expanduser() if env else PRESET_DIR


def available_presets() -> list[str]:
    """Built-in names plus the calibrated presets found in :func:`preset_dir`."""
    found = sorted(p.stem for p in preset_dir().glob("*.json")) if preset_dir().is_dir() else []
    return sorted(set(BUILTIN) | set(found))


def load_engine(name_or_path: str | Path | EngineCost | None = None) -> EngineCost:
    """An :class:`EngineCost` from a preset name, a JSON file path, or itself; None → ``gpu-uncalibrated``."""
    if name_or_path is None:
        return BUILTIN["gpu-uncalibrated"]
    if isinstance(name_or_path, EngineCost):
        return name_or_path
    text = str(name_or_path)
    path = Path(text)
    if not path.suffix == ".json":
        if text in BUILTIN:
            return BUILTIN[text]
        path = preset_dir() / f"{text}.json"
        if not path.is_file():
            raise ValueError(f"unknown engine preset {text!r}; known: {', '.join(available_presets())}")
    try:
        data = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise ValueError(f"{path}: cannot read engine preset ({exc})") from None
    known = {f.name for f in fields(EngineCost)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"{path}: unknown engine preset field(s) {unknown}; allowed: {sorted(known)}")
    for key, value in data.items():
        if key not in ("name", "source", "calibrated") and not isinstance(value, (int, float)):
            raise ValueError(f"{path}: field {key!r} must be a number, got {value!r}")
    return EngineCost(**{"name": path.stem, **data})
