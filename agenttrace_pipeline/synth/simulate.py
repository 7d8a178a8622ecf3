"""The generator's pure simulation API: sessions as numpy arrays, no files.

Sessions are simulated in stream blocks of ``STREAM_BLOCK`` primaries, block ``b`` drawing from its own
``SeedSequence(seed, spawn_key=(0, b))``; a block's restart continuations are simulated from the same
stream right after its primaries. Batches of any ``batch_size`` are cut from these blocks, so the random
streams — and the dataset — do not depend on the batch size.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator

import numpy as np

from agenttrace_pipeline.synth.batch import Batch, Sessions
from agenttrace_pipeline.synth.config import SessionDistributionConfig
from agenttrace_pipeline.synth.engine import (
    SPLIT,
    Samplers,
    initial_contexts,
    restart_probabilities,
    simulate_explicit,
    simulate_reset_driven,
)

STREAM_BLOCK = 4096
BATCH = 20_000


def stream(seed: int, key: tuple[int, ...]) -> np.random.Generator:
    """The random stream ``key`` of a run with root ``seed``."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


def _block(cfg: SessionDistributionConfig, s: Samplers, seed: int, block: int, total: int) -> Sessions:
    first = block * STREAM_BLOCK
    n = min(STREAM_BLOCK, total - first)
    rng = stream(seed, (0, block))
    if cfg.turns is not None:
        primaries = simulate_explicit(cfg, s, rng, n, first)
    else:
        group, c0 = initial_contexts(cfg, s, rng, n)
        split_at = None
        if cfg.restart_initial_probability > 0:
            p = restart_probabilities(cfg.restart_initial_probability, first, n, total)
            lo, hi = cfg.restart_turn_range
            r = rng.integers(lo, hi, n)
            split_at = np.where(rng.random(n) < p, r, 0)
        primaries = simulate_reset_driven(cfg, s, rng, c0, group, split_at)
    split = np.flatnonzero(primaries.end == SPLIT)
    if split.size:  # B starts from A's accumulated context: its last input plus its last output
        acc = np.minimum(primaries.final_input[split] + primaries.final_output[split], cfg.max_prompt_tokens - 1)
        continuations = simulate_reset_driven(cfg, s, rng, acc, primaries.group[split])
    else:
        continuations = Batch.empty()
    origin = first + split
    placement = np.minimum(origin + math.ceil(total / 4), total - 1)
    return Sessions(first, primaries, continuations, origin, placement)


def _rebatch(blocks: Iterable[Sessions], batch_size: int) -> Iterator[Sessions]:
    held: list[Sessions] = []
    count = 0
    for block in blocks:
        held.append(block)
        count += block.n
        while count >= batch_size:
            merged = Sessions.concat(held)
            yield merged.slice(0, batch_size)
            held = [merged.slice(batch_size, merged.n)] if merged.n > batch_size else []
            count = merged.n - batch_size
    if count:
        yield Sessions.concat(held)


def simulate(cfg: SessionDistributionConfig, n: int, *, seed: int, batch_size: int = BATCH,
             samplers: Samplers | None = None) -> Iterator[Sessions]:
    """Simulate ``n`` primary sessions (and their restart continuations) in batches of ``batch_size`` primaries.

    ``samplers`` defaults to :meth:`Samplers.for_config` (calibrated new tokens where configured); pass your
    own to record draws. Same ``cfg``, ``n`` and ``seed`` give the same sessions whatever ``batch_size`` is.
    """
    if n < 1 or batch_size < 1:
        raise ValueError(f"n and batch_size must be >= 1, got {n} and {batch_size}")
    s = samplers if samplers is not None else Samplers.for_config(cfg)
    blocks = (_block(cfg, s, seed, b, n) for b in range(math.ceil(n / STREAM_BLOCK)))
    yield from _rebatch(blocks, batch_size)
