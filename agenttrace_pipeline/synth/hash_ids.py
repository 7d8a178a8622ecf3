"""Hash-id layout of generated sessions, and the JSONL rows that carry them.

* L1: ids ``0 .. L1_blocks-1``, shared by every session.
* L1.5: ``L1_blocks + g*L15_blocks ..`` for group ``g``.
* Everything else is allocated from one counter, in the order rows are emitted, so each session owns a
  disjoint region: its turn-0 L2 blocks, then ``ceil(new/bs)`` fresh ids per later turn.

A restart continuation B reuses what can be reused without changing any id's block size: the shared
prefix and every *whole* L2 block of its Session A. The rest of A's accumulated context gets fresh ids —
a Mooncake row can only end in a partial block, and past A's first partial block the replayed token stream
no longer lines up with block boundaries, so listing A's partial ids as full blocks (as AIPerf 0.13 does)
would only make the file inconsistent.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agenttrace_pipeline.synth.config import SessionDistributionConfig


def id_text(start: int, count: int) -> str:
    """Comma-joined decimal ids ``start .. start+count-1``."""
    return ",".join(map(str, range(start, start + count)))





class IdText:
    """Comma-separated decimal text of consecutive ids, rendered in blocks with numpy and sliced per row.

    Fresh ids are handed out in increasing order, so a row's ids are a slice of the current block. Blocks
    never cross a power of ten, so every id in a block has the same width and a slice is plain arithmetic.
    Ids before the block (a continuation reusing its Session A's blocks) or a row crossing a power of ten
    fall back to ``str.join``.
    """

    BLOCK = 1 << 18

    def __init__(self) -> None:
        self.base, self.end, self.step, self.text = 0, 0, 1, ""

    def get(self, start: int, count: int) -> str:
        if count <= 0:
            return ""
        if not (self.base <= start and start + count <= self.end):
            if start < self.base or len(str(start)) != len(str(start + count - 1)):
                return id_text(start, count)
            self._render(start, count)
        i, w = start - self.base, self.step
        return self.text[i * w : (i + count) * w - 1]

    def _render(self, start: int, count: int) -> None:
        width = len(str(start))
        end = min(start + max(count, self.BLOCK), 10**width)
        x = np.arange(start, end, dtype=np.int64)
        cells = np.empty((x.size, width + 1), np.uint8)
        cells[:, width] = ord(",")
        for j in range(width - 1, -1, -1):
            cells[:, j] = x % 10 + 48
            x //= 10
        self.text = cells.tobytes().decode("ascii")
        self.base, self.end, self.step = start, end, width + 1


@dataclass
class IdAllocator:
    cfg: SessionDistributionConfig
    next_id: int = 0

    def __post_init__(self) -> None:
        c = self.cfg
        self.bs = c.block_size
        self.l1b, self.l15b = c.layer1_blocks, c.layer1_5_blocks
        self.next_id = self.l1b + c.cache.layer1_5_groups.num_groups * self.l15b
        self._prefix: dict[int, str] = {}

    def prefix(self, group: int) -> str:
        """Comma-joined L1 + L1.5(group) ids (empty string when there is no shared prefix)."""
        s = self._prefix.get(group)
        if s is None:
            parts = [id_text(0, self.l1b), id_text(self.l1b + group * self.l15b, self.l15b)]
            s = self._prefix[group] = ",".join(p for p in parts if p)
        return s

    def fresh(self, tokens: int) -> tuple[int, int]:
        """Allocate ``ceil(tokens / bs)`` new ids; returns (first id, count)."""
        n = -(-tokens // self.bs)
        start = self.next_id
        self.next_id += n
        return start, n


def join_ids(*parts: str) -> str:
    return ",".join(p for p in parts if p)


def turn0_row(sid: str, length: int, out: int, ids: str, timestamp: float, group: int, restart: bool) -> str:
    tail = ',"is_restart":true' if restart else ""
    return (f'{{"session_id":"{sid}","input_length":{length},"output_length":{out},"hash_ids":[{ids}],'
            f'"timestamp":{timestamp:.1f},"group_id":{group}{tail}}}\n')


def later_row(sid: str, length: int, out: int, ids: str, delay: float) -> str:
    return (f'{{"session_id":"{sid}","input_length":{length},"output_length":{out},"hash_ids":[{ids}],'
            f'"delay":{delay:.1f}}}\n')


