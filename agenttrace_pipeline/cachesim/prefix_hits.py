"""Theoretical prefix-cache hit rates of a trace.

A request hits the cache for the longest run of its leading hash ids that are already cached; hit tokens
are that run's blocks (the last, partial block counts its own tokens). Rates are token-weighted:
hit tokens / input tokens over the whole trace. ``capacity=None`` is an infinite cache; an integer is a
block-LRU of that many blocks, refreshed by every block a request touches.

For multi-turn traces a request's prompt is the session's accumulated ids (turn 0's plus every later
turn's new ids), which is what a replayer sends.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass


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


def _hit_tokens(ids: Sequence[int], length: int, run: int, block_size: int) -> int:
    return length if run == len(ids) else min(run * block_size, length)


def prefix_hit_stats(
    requests: Iterable[tuple[Sequence[int], int]],
    block_size: int = 512,
    capacity: int | None = None,
) -> HitStats:
    """Replay ``(prompt_hash_ids, prompt_tokens)`` pairs in order through a prefix cache."""
    n = tokens = hits = 0
    if capacity is None:
        seen: set[int] = set()
        for ids, length in requests:
            run = 0
            for h in ids:
                if h not in seen:
                    break
                run += 1
            hits += _hit_tokens(ids, length, run, block_size)
            tokens += length
            n += 1
            seen.update(ids)
        return HitStats(None, n, tokens, hits, len(seen))
    if capacity < 1:
        raise ValueError(f"capacity must be >= 1 block, got {capacity}")
    lru: OrderedDict[int, None] = OrderedDict()
    distinct: set[int] = set()
    for ids, length in requests:
        run = 0
        for h in ids:
            if h not in lru:
                break
            run += 1
        hits += _hit_tokens(ids, length, run, block_size)
        tokens += length
        n += 1
        for h in ids:
            if h in lru:
                lru.move_to_end(h)
            else:
                lru[h] = None
                distinct.add(h)
        while len(lru) > capacity:
            lru.popitem(last=False)
    return HitStats(capacity, n, tokens, hits, len(distinct))


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
