"""What the samplers drew, kept for the distribution check.

Every value a sampler draws (accepted or not: candidates dropped at the context limit and sessions
rebuilt in explicit mode included) is an independent draw of its configured law, so the KS check tests
these draws rather than the accepted rows, whose selection is biased by design. A uniform sample of at
most ``DRAW_SAMPLE`` values per quantity is kept (bottom-k of random keys from a stream of its own, so
recording never changes the dataset).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from agenttrace_pipeline.synth.quality import Metric

DRAW_SAMPLE = 100_000


class Sampler(Protocol):
    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray: ...

    def sample_int(self, rng: np.random.Generator, n: int, minimum: int = 1) -> np.ndarray: ...

    def describe(self) -> dict: ...


class DrawLog:
    """Values drawn per quantity name: recorded cheaply, folded into bounded samples once per batch."""

    def __init__(self, rng: np.random.Generator, cap: int = DRAW_SAMPLE) -> None:
        self._rng, self._cap = rng, cap
        self._pending: dict[str, list[np.ndarray]] = {}
        self._kept: dict[str, Metric] = {}

    def record(self, name: str, values: np.ndarray) -> None:
        self._pending.setdefault(name, []).append(np.asarray(values, dtype=np.float64))

    def fold(self) -> None:
        """Move what was recorded since the last fold into the kept samples."""
        for name, parts in self._pending.items():
            if parts:
                self._kept.setdefault(name, Metric(self._rng, self._cap)).add(np.concatenate(parts))
                parts.clear()

    def names(self) -> list[str]:
        self.fold()
        return list(self._kept)

    def sample(self, name: str) -> np.ndarray:
        """A uniform sample (at most ``cap``) of every value drawn for ``name``."""
        self.fold()
        m = self._kept.get(name)
        return m.values if m is not None else np.zeros(0)

    def drawn(self, name: str) -> int:
        self.fold()
        m = self._kept.get(name)
        return m.count if m is not None else 0


@dataclass
class Recorded:
    """A sampler whose every draw is also recorded in a :class:`DrawLog`."""

    inner: Sampler
    log: DrawLog
    name: str

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        x = self.inner.sample(rng, n)
        self.log.record(self.name, x)
        return x

    def sample_int(self, rng: np.random.Generator, n: int, minimum: int = 1) -> np.ndarray:
        x = self.inner.sample_int(rng, n, minimum)
        self.log.record(self.name, x)
        return x

    def describe(self) -> dict:
        return self.inner.describe()
