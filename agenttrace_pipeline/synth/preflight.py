"""Checks made before a run writes anything: argument limits, the arrival trace, the output size.

The output size is estimated from a 500-session pilot written to a counting sink (its ids rescaled to
the width they reach in the full run) and compared with the free space of the output folder, or with an
explicit byte limit.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

from agenttrace_pipeline.synth.arrivals import GapSampler, gap_sampler
from agenttrace_pipeline.synth.config import ConfigError, SessionDistributionConfig
from agenttrace_pipeline.synth.engine import Samplers
from agenttrace_pipeline.synth.rundir import SynthesisError

MAX_SESSIONS = 100_000_000  # 10**8 primaries is ~1 TB of JSONL with the default profile
MAX_SEED = 2**64 - 1  # seeds are recorded as JSON integers, which our writers keep to 64 bits
PILOT_SESSIONS = 500
ESTIMATE_MARGIN = 1.10


def check_arguments(num_sessions: int, seed: int) -> None:
    """Raise ``ValueError`` naming the argument when it is outside its documented range."""
    if isinstance(num_sessions, bool) or not isinstance(num_sessions, int) or not 1 <= num_sessions <= MAX_SESSIONS:
        raise ValueError(f"num_sessions must be an integer from 1 to {MAX_SESSIONS:,}, got {num_sessions!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise ValueError(f"seed must be an integer from 0 to 2**64 - 1, got {seed!r}")


def arrival_gaps(cfg: SessionDistributionConfig) -> GapSampler:
    """The inter-arrival sampler; a missing or unreadable arrival trace is a config error naming the field."""
    try:
        return gap_sampler(cfg.arrival)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"arrival.trace: {exc}") from None


class _Counter:
    def __init__(self) -> None:
        self.bytes = 0

    def write(self, data: bytes) -> int:
        self.bytes += len(data)
        return len(data)


def estimate_bytes(cfg: SessionDistributionConfig, samplers: Samplers, num_sessions: int) -> int:
    """Expected size of ``dataset.jsonl`` for ``num_sessions`` primaries (with a 10 % margin)."""
    from agenttrace_pipeline.synth.simulate import simulate
    from agenttrace_pipeline.synth.writer import DatasetWriter

    n = min(num_sessions, PILOT_SESSIONS)
    sink = _Counter()
    w = DatasetWriter(cfg, 0, sink, lambda rng, k: rng.exponential(1.0, k), None)
    for batch in simulate(cfg, n, seed=0, samplers=samplers):
        w.write(batch)
    w.close()
    scale = num_sessions / n
    wider = len(str(int(w.hash_id_space * scale))) - len(str(w.hash_id_space))  # digits ids gain at full size
    return int(math.ceil(scale * (sink.bytes + w.ids_written * max(wider, 0)) * ESTIMATE_MARGIN))


def _free_bytes(root: Path) -> int:
    probe = root
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return shutil.disk_usage(probe).free


def human_bytes(n: float) -> str:
    """``1234567`` → ``"1.2 MB"`` (powers of 1000, like ``--max-bytes``)."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1000
    raise AssertionError("unreachable")


def check_space(root: Path, estimate: int, max_bytes: int | None, check_free_space: bool) -> None:
    """Refuse a run whose estimated size exceeds ``max_bytes`` or, without one, the free space under ``root``."""
    if max_bytes is not None:
        if estimate > max_bytes:
            raise SynthesisError(f"the dataset would be about {human_bytes(estimate)}, above the limit of "
                                 f"{human_bytes(max_bytes)} (--max-bytes); raise the limit or generate fewer sessions")
        return
    if not check_free_space:
        return
    free = _free_bytes(root)
    if estimate > free:
        raise SynthesisError(f"the dataset would be about {human_bytes(estimate)} but only {human_bytes(free)} are "
                             f"free under {root}; free space, generate fewer sessions, or pass --yes to try anyway")
