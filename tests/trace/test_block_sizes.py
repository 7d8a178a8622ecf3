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
    assert (c.line, c.first_line, c.first_size) == (9, 0, 40)  # first line: looked up by the validator


def test_sparse_ids_far_beyond_the_dense_range_are_checked_too():
    reg = BlockSizeRegistry(512)
    big = 2**62
    assert _add(reg, [big, 3], [512, 512], [1, 1]) == []
    (c,) = _add(reg, [big], [10], [2])
    assert c.hash_id == big and reg.distinct_ids == 2


def test_pages_are_allocated_only_where_ids_fall():
    reg = BlockSizeRegistry(512)
    _add(reg, [5, 300_000_000], [7, 512], [1, 1])
    assert len(reg._pages) == 2 and reg.distinct_ids == 2
    (c,) = _add(reg, [300_000_000], [9], [3])
    assert (c.line, c.first_size) == (3, 512)


def test_random_64_bit_ids_do_not_allocate_a_page_each():
    reg = BlockSizeRegistry(512)
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 2**62, 5000)
    _add(reg, list(ids), [512] * 5000, [1] * 5000)
    assert len(reg._pages) <= 64 and reg.distinct_ids == 5000
