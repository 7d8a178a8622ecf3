"""Theoretical prefix-cache hit rates of a list of prompts (kept for ``sources.mooncake_reference``).

A request hits the cache for the longest run of its leading hash ids that are already cached; hit tokens
are that run's tokens, the ``j``-th id of a prompt of ``n`` tokens holding ``min(bs, n - j·bs)`` of them
(so a run of ``k`` ids hits ``min(k·bs, n)`` tokens). Rates are token-weighted: hit tokens / input tokens
over the whole trace. ``capacity=None`` is an infinite cache; an integer is a block-LRU of that many
blocks, refreshed by every block a request touches.

This is a thin wrapper over :mod:`agenttrace_pipeline.cachesim.stack_distance` (one pass gives every
capacity); :func:`agenttrace_pipeline.cachesim.simulate.simulate` is the full simulation.
For multi-turn traces a request's prompt is the session's accumulated ids (turn 0's plus every later
turn's new ids), which is what a replayer sends.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from agenttrace_pipeline.cachesim.blocks import BlockStreams
from agenttrace_pipeline.cachesim.stack_distance import lru_curve


@dataclass(frozen=True, slots=True)
class HitStats:
    capacity_blocks: int | None
    requests: int
    input_tokens: int
    hit_tokens: int
    distinct_blocks: int

    @property
    def hit_rate(self) -> float:
        return self.hit_tokens / self.input_tokens if self.input_tokens else 0.0

    def to_dict(self) -> dict[str, object]:
        return {**asdict(self), "hit_rate": self.hit_rate}


def prompt_streams(requests: Iterable[tuple[Sequence[int], int]], block_size: int = 512) -> BlockStreams:
    """``(prompt_hash_ids, prompt_tokens)`` pairs as kernel block streams (simple semantics)."""
    reqs = list(requests)
    lens = np.fromiter((len(ids) for ids, _ in reqs), np.int64, len(reqs))
    flat = np.fromiter((h for ids, _ in reqs for h in ids), np.int64, int(lens.sum()))
    ptok = np.fromiter((n for _, n in reqs), np.int64, len(reqs))
    off = np.zeros(len(reqs) + 1, np.int64)
    np.cumsum(lens, out=off[1:])
    pos = np.arange(flat.size, dtype=np.int64) - np.repeat(off[:-1], lens)
    size = np.clip(np.repeat(ptok, lens) - pos * block_size, 0, block_size)
    uniq, dense = np.unique(flat, return_inverse=True)
    tokens = np.zeros(uniq.size, np.int32)
    tokens[dense[::-1]] = size[::-1]  # an id keeps the size of its first occurrence
    n = lens.copy()
    zeros = np.zeros(len(reqs), np.int8)
    return BlockStreams(dense.astype(np.int32), off[:-1].copy(), n, n.copy(), n.copy(), ptok, tokens,
                        np.zeros(uniq.size, np.int8), zeros, "simple", block_size)


def prefix_hit_stats(
    requests: Iterable[tuple[Sequence[int], int]],
    block_size: int = 512,
    capacity: int | None = None,
) -> HitStats:
    """Replay ``(prompt_hash_ids, prompt_tokens)`` pairs in order through a prefix cache."""
    if capacity is not None and capacity < 1:
        raise ValueError(f"capacity must be >= 1 block, got {capacity}")
    s = prompt_streams(requests, block_size)
    curve = lru_curve(s)
    return HitStats(capacity, int(s.base.size), curve.total_tokens, curve.hit_tokens(capacity), s.n_blocks)


def prompts_of(rows: Iterable[dict]) -> Iterable[tuple[list[int], int]]:
    """Turn trace rows into the prompts a replayer sends: cumulative per session, as-is for single-turn."""
    session: object = None
    acc_ids: list[int] = []
    acc_len = 0
    for r in rows:
        sid = r.get("session_id")
        ids = r.get("hash_ids") or []
        if sid is None:
            yield ids, r["input_length"]
            continue
        if sid != session:
            session, acc_ids, acc_len = sid, [], 0
        acc_ids = acc_ids + ids
        acc_len += r["input_length"]
        yield acc_ids, acc_len
