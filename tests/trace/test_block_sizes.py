from __future__ import annotations

import numpy as np

from agenttrace_pipeline.trace.block_sizes import BlockSizeRegistry


def _add(reg, ids, sizes, lines):
    return reg.add(np.array(ids, dtype=np.int64), np.array(sizes, dtype=np.int64), np.array(lines, dtype=np.int64))


def test_conflict_within_one_chunk_reports_first_sighting():
    reg = BlockSizeRegistry(512)
    (c,) = _add(reg, [5, 6, 5], [512, 100, 300], [1, 1, 7])
    assert (c.line, c.hash_id, c.size, c.first_line, c.first_size) == (7, 5, 300, 1, 512)


def test_conflict_against_an_earlier_chunk():
    reg = BlockSizeRegistry(512)
    assert _add(reg, [1, 2], [512, 40], [1, 1]) == []
    (c,) = _add(reg, [2], [512], [9])
    assert (c.line, c.first_line, c.first_size) == (9, 1, 40)


def test_sparse_ids_far_beyond_the_dense_range_are_checked_too():
    reg = BlockSizeRegistry(512)
    big = 2**62
    assert _add(reg, [big, 3], [512, 512], [1, 1]) == []
    (c,) = _add(reg, [big], [10], [2])
    assert c.hash_id == big and reg.distinct_ids == 2


def test_ids_move_from_sparse_to_dense_as_the_range_grows():
    reg = BlockSizeRegistry(512)
    _add(reg, [5_000_000], [7], [1])  # beyond the initial dense range: kept sparse
    _add(reg, list(range(2_000_000)), [512] * 2_000_000, [2] * 2_000_000)  # dense range grows past it
    (c,) = _add(reg, [5_000_000], [512], [3])
    assert (c.first_line, c.first_size) == (1, 7)
