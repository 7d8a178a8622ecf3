from __future__ import annotations

import numpy as np

from agenttrace_pipeline.trace.block_sizes import BlockSizeRegistry


def _add(reg, ids, sizes, lines):
    return reg.add(np.array(ids, dtype=np.int64), np.array(sizes, dtype=np.int64), np.array(lines, dtype=np.int64))


def test_conflict_within_one_chunk_reports_first_sighting():
    reg = BlockSizeRegistry(512)
    (c,) = _add(reg, [5, 6, 5], [512, 100, 300], [1, 1, 7])
    assert (c.line, c.hash_id, c.size, c.first_line, c.first_size) == (7, 5, 300, 1, 512)


def test_new_partial_id_reused_as_full_block_in_the_same_chunk():
    reg = BlockSizeRegistry(512)
    (c,) = _add(reg, [9, 9], [40, 512], [2, 3])
    assert (c.line, c.hash_id, c.size, c.first_line, c.first_size) == (3, 9, 512, 2, 40)
    (c,) = _add(reg, [9], [512], [8])  # the first sighting (partial) is what the id keeps
    assert (c.line, c.first_size) == (8, 40)


def test_conflict_against_an_earlier_chunk():
    reg = BlockSizeRegistry(512)
    assert _add(reg, [1, 2], [512, 40], [1, 1]) == []
    (c,) = _add(reg, [2], [512], [9])
    assert (c.line, c.first_line, c.first_size) == (9, 0, 40)  # first line: looked up by the validator
    (c,) = _add(reg, [1], [40], [10])
    assert (c.line, c.first_size) == (10, 512)


def test_partial_sizes_are_remembered_exactly_across_chunks():
    reg = BlockSizeRegistry(512)
    rng = np.random.default_rng(1)
    ids = rng.permutation(200_000)[:50_000]
    sizes = rng.integers(1, 512, ids.size)
    assert _add(reg, ids, sizes, np.ones(ids.size)) == []
    assert _add(reg, ids[::7], sizes[::7], np.full(ids[::7].size, 2)) == []  # same sizes again: fine
    bad = _add(reg, ids[:3], sizes[:3] % 511 + 1, [3, 3, 3])
    assert {(c.hash_id, c.first_size) for c in bad} == {(int(i), int(s)) for i, s in zip(ids[:3], sizes[:3], strict=True)}


def test_sparse_ids_far_beyond_the_dense_range_are_checked_too():
    reg = BlockSizeRegistry(512)
    big = 2**62
    assert _add(reg, [big, 3], [512, 512], [1, 1]) == []
    (c,) = _add(reg, [big], [10], [2])
    assert c.hash_id == big and reg.distinct_ids == 2


def test_ids_parked_in_the_dict_are_found_after_the_bitmaps_grow_over_them(monkeypatch):
    import agenttrace_pipeline.trace.block_sizes as bsz

    monkeypatch.setattr(bsz, "_MIN_IDS", 1 << 16)
    reg = BlockSizeRegistry(512)
    assert _add(reg, [5, 1_000_000], [7, 512], [1, 1]) == []
    assert reg._full.size * 8 < 1_000_000  # beyond the budget of 2 ids seen: parked in the dict
    many = np.arange(6, 200_006, dtype=np.int64)  # enough ids seen to afford bitmaps up to 1.6M
    assert _add(reg, many, np.full(many.size, 512), np.full(many.size, 2)) == []
    (c,) = _add(reg, [1_000_000, 5], [9, 7], [3, 3])  # now affordable: the bitmaps grow over the parked id
    assert reg._full.size * 8 > 1_000_000 and not reg._sparse
    assert (c.line, c.hash_id, c.first_size) == (3, 1_000_000, 512)
    assert reg.distinct_ids == 200_000 + 2


def test_random_64_bit_ids_do_not_allocate_bitmaps_for_them():
    reg = BlockSizeRegistry(512)
    rng = np.random.default_rng(0)
    ids = rng.integers(2**40, 2**62, 5000)
    _add(reg, list(ids), [512] * 5000, [1] * 5000)
    assert reg.distinct_ids == 5000 and reg._full.size == 0


def test_memory_is_about_two_bits_an_id_plus_two_bytes_a_partial_block():
    reg = BlockSizeRegistry(512)
    n = 8_000_000
    ids = np.arange(n, dtype=np.int64)
    sizes = np.where(ids % 10 == 9, 100, 512)  # one partial block in ten ids, as in generated traces
    for lo in range(0, n, 1 << 20):
        assert _add(reg, ids[lo:lo + (1 << 20)], sizes[lo:lo + (1 << 20)], np.ones(min(1 << 20, n - lo))) == []
    assert reg.distinct_ids == n
    bits_per_id = reg.nbytes * 8 / n
    assert bits_per_id < 2 * 1.25 + 16 / 10 + 0.1, bits_per_id
