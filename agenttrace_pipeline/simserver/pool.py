"""The simulated engine's KV block pool: the cache simulator's kernel (vLLM semantics) over blocks named by hashes.

The offline simulation knows every block in advance and numbers them densely; a server meets blocks as
prompts arrive. :class:`BlockPool` gives each new chained block hash the next dense number (growing the
kernel's arrays when needed) and then calls the very kernel functions the offline run calls
(``touch``, ``release_all``, ``evict``), in the same order as ``cachesim.eventloop`` does for one request:
look up and pin the prompt's full blocks on admission, then on completion insert the reply's full blocks,
drop every pin last block first, and evict down to capacity. Blocks a running request holds without a name
(its prompt's partly filled last block, its generated tokens) count against the capacity through
:meth:`BlockPool.hold`, as the offline run counts them. So a trace served one request at a time hits
exactly as ``simulate(..., semantics="vllm", load="file")`` predicts.
"""

from __future__ import annotations

import numpy as np

from agenttrace_pipeline.cachesim import kernel as kn
from agenttrace_pipeline.cachesim.touch import release_all, touch

_INITIAL = 1 << 14


class BlockPool:
    """``capacity`` device blocks of ``block_tokens`` tokens under ``policy`` (a ``cachesim.kernel.POLICIES`` name)."""

    def __init__(self, capacity: int | None, block_tokens: int, policy: str = "lru") -> None:
        if policy not in kn.POLICIES or policy in ("ttl", "s3fifo"):
            raise ValueError(f"pool policy must be one of lru, fifo, lfu, infinite, session-lru; got {policy!r}")
        if capacity is not None and capacity < 1:
            raise ValueError(f"capacity must be >= 1 block (or None for infinite), got {capacity}")
        self.capacity = capacity
        self.block_tokens = block_tokens
        self.cp = np.zeros(kn.N_CP)
        self.cp[kn.P_POLICY] = kn.POLICIES.index(policy)
        self.cp[kn.P_CAP] = np.inf if capacity is None else float(capacity)
        self.cp[kn.P_SMALL] = self.cp[kn.P_GHOST] = np.inf
        self.ids: dict[int, int] = {}
        self._n = 0
        self.bi = self.ls = self.rs = np.zeros(0)
        self._alloc(_INITIAL)
        self._res = np.zeros(3, np.int64)
        self.unnamed = 0  # blocks counted through hold()
        self._lay = np.zeros((3, 4))

    def _alloc(self, size: int) -> None:
        bi, bt, gs, ls, rs, hist = kn.new_state(size, 1, False)
        old = self.bi.shape[0]
        if old:  # keep the list links: rows are block numbers and replica 0 has offset 0
            bi[:old] = self.bi
            ls, rs = self.ls, self.rs
        self.bi, self.bt, self.gs, self.ls, self.rs, self.hist = bi, bt, gs, ls, rs, hist
        self.tokens = np.full(size, self.block_tokens, np.int32)
        self.layer = np.zeros(size, np.int8)
        self.cp[kn.P_NBLK] = size

    def dense(self, hashes: list[int], known: np.ndarray | None = None) -> np.ndarray:
        """Dense block numbers of chained block hashes, numbering blocks never seen before; ``known`` holds the
        numbers of a leading run of ``hashes`` already looked up in this pool (they are reused, not looked up)."""
        ids = self.ids
        k = 0 if known is None else min(known.size, len(hashes))
        if k == len(hashes) and known is not None:
            return known[:k]
        nums: list[int] = []
        todo = hashes[k:] if k else hashes
        for i, h in enumerate(todo):
            d = ids.get(h)
            if d is None:  # chained names: after the first unseen block every later one is unseen too
                n0, rest = self._n, todo[i:]
                ids.update(zip(rest, range(n0, n0 + len(rest)), strict=True))
                self._n += len(rest)
                nums.extend(range(n0, n0 + len(rest)))
                break
            nums.append(d)
        out = np.empty(len(hashes), np.int32)
        if k:
            out[:k] = known[:k]  # type: ignore[index]
        out[k:] = nums
        if self._n > self.tokens.size:
            self._alloc(max(self._n, 2 * self.tokens.size))
        return out

    @property
    def used(self) -> int:
        """Blocks resident on the device now (pinned ones included)."""
        return int(self.rs[0, kn.R_DEV])

    @property
    def usage(self) -> float:
        """Fraction of the capacity holding named blocks, cached or pinned (0 with an infinite pool): the KV fill
        the cost model's decode term reads, as the offline run reads it."""
        return 0.0 if self.capacity is None else min(1.0, (self.used - self.unnamed) / self.capacity)

    def admit(self, blocks: np.ndarray, n_query: int, now_ms: float, req: int) -> int:
        """Look up, insert and pin a prompt's full blocks; returns its leading run of cached blocks."""
        self._res[:] = 0
        st = (self.bi, self.bt, self.gs, self.ls, self.rs, self.cp, self.hist)
        touch(*st, self._lay, self.layer, self.tokens, 0, 0, blocks, 0, 0, blocks.size, n_query,
              self._res, False, 1, now_ms, req)
        kn.evict(*st, 0, now_ms)
        return int(self._res[2])

    def finish(self, blocks: np.ndarray, n_prompt: int, now_ms: float, req: int) -> None:
        """Insert a finished request's reply blocks (``blocks[n_prompt:]``), release all its pins, evict."""
        st = (self.bi, self.bt, self.gs, self.ls, self.rs, self.cp, self.hist)
        touch(*st, self._lay, self.layer, self.tokens, 0, 0, blocks, 0, n_prompt, blocks.size, 0,
              self._res, False, 1, now_ms, req)
        self.release(blocks, now_ms)

    def hold(self, delta: int, now_ms: float) -> None:
        """Count ``delta`` more (or, negative, fewer) device blocks that hold no named content (a running
        request's partly filled and generated-token blocks); growing evicts cached blocks to make room."""
        self.rs[0, kn.R_DEV] += delta
        self.unnamed += delta
        if delta > 0:
            kn.evict(self.bi, self.bt, self.gs, self.ls, self.rs, self.cp, self.hist, 0, now_ms)

    def release(self, blocks: np.ndarray, now_ms: float) -> None:
        """Drop one pin of each block, last first (preemption or completion), then evict to capacity."""
        release_all(self.bi, self.ls, self.cp, 0, 0, blocks, 0, blocks.size)
        kn.evict(self.bi, self.bt, self.gs, self.ls, self.rs, self.cp, self.hist, 0, now_ms)
