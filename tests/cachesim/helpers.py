"""Small workloads and plain-Python reference caches for the cachesim tests."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from agenttrace_pipeline.cachesim.workload import Workload

BS = 16


def multi_turn(seed: int, sessions: int = 12, shared: int = 3, block_size: int = BS) -> Workload:
    """Random multi-turn sessions: a shared prefix of ``shared`` blocks, own turn-0 blocks, new blocks per turn."""
    rng = np.random.default_rng(seed)
    rows, nxt = [], 1000
    for s in range(sessions):
        own = int(rng.integers(1, 4))
        ids = list(range(shared)) + list(range(nxt, nxt + own))
        nxt += own
        length = (len(ids) - 1) * block_size + int(rng.integers(1, block_size + 1))
        rows.append({"session_id": f"s{s}", "input_length": length, "output_length": int(rng.integers(1, 40)),
                     "hash_ids": ids, "timestamp": float(s * 10), "group_id": 0})
        for _ in range(int(rng.integers(0, 5))):
            k = int(rng.integers(1, 4))
            length = (k - 1) * block_size + int(rng.integers(1, block_size + 1))
            rows.append({"session_id": f"s{s}", "input_length": length,
                         "output_length": int(rng.integers(1, 40)), "hash_ids": list(range(nxt, nxt + k)),
                         "delay": float(rng.integers(0, 50))})
            nxt += k
    return Workload.from_rows(rows, block_size=block_size)


def single_turn(seed: int, n: int = 60, universe: int = 40, block_size: int = BS) -> Workload:
    """FAST'25-like rows: prompts that share random-length prefixes of a few chains of ids."""
    rng = np.random.default_rng(seed)
    chains = [list(range(c * 100, c * 100 + universe)) for c in range(4)]
    rows = []
    for i in range(n):
        k = int(rng.integers(1, 12))
        ids = chains[int(rng.integers(0, 4))][:k]
        rows.append({"input_length": (k - 1) * block_size + block_size, "output_length": 5, "hash_ids": ids,
                     "timestamp": float(i)})
    return Workload.from_rows(rows, block_size=block_size)


def prompts(w: Workload) -> list[tuple[list[int], list[int]]]:
    """(prompt ids, per-id tokens) of each request, simple semantics."""
    sizes = np.full(w.ids.size, w.block_size)
    for r in range(w.n_requests):
        a, b = w.ids_off[r], w.ids_off[r + 1]
        sizes[b - 1] = w.input_len[r] - (b - a - 1) * w.block_size
    out = []
    for r in range(w.n_requests):
        a = w.ids_off[w.sess_first[w.session[r]]] if w.cumulative else w.ids_off[r]
        out.append((w.ids[a:w.ids_off[r + 1]].tolist(), sizes[a:w.ids_off[r + 1]].tolist()))
    return out


def reference_hits(w: Workload, policy: str, capacity: int) -> int:
    """Hit tokens of a plain-Python block cache (evict after each request, blocks used in prompt order)."""
    cache: OrderedDict[int, int] = OrderedDict()  # id -> frequency; order = policy's eviction order
    hits = 0
    for ids, sizes in prompts(w):
        for h, t in zip(ids, sizes, strict=True):
            if h not in cache:
                break
            hits += t
        for h in ids:
            if h in cache:
                cache[h] += 1
                if policy in ("lru", "lfu"):
                    cache.move_to_end(h)
            else:
                cache[h] = 1
        while len(cache) > capacity:
            if policy == "lfu":  # fewest uses; among ties the least recently used (order = last use)
                del cache[min(cache, key=lambda k: cache[k])]
            else:
                cache.popitem(last=False)
    return hits
