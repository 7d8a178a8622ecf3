from __future__ import annotations

import numpy as np
import pytest

from agenttrace_pipeline.cachesim.simulate import prepare, run_one, simulate
from agenttrace_pipeline.cachesim.workload import Workload

from .helpers import multi_turn, reference_hits, single_turn


@pytest.mark.parametrize("policy", ["lru", "fifo", "lfu"])
@pytest.mark.parametrize("seed", range(6))
def test_kernel_matches_a_plain_python_cache(policy, seed):
    for w in (multi_turn(seed), single_turn(seed)):
        prep = prepare(w)
        for cap in (1, 3, 5, 8, 13, 21, 40):
            got = run_one(prep, policy=policy, capacity=cap).hit_tokens
            assert got == reference_hits(w, policy, cap), (policy, seed, cap)


def test_infinite_cache_hits_every_block_seen_before():
    w = multi_turn(3)
    rep = simulate(w, policy="infinite", theoretical=False)
    assert rep.runs[0].hit_tokens == reference_hits(w, "lru", 10**9)
    assert rep.runs[0].evictions == 0


def _rows(seq, block=16):
    return [{"input_length": block * len(ids), "output_length": 1, "hash_ids": ids, "timestamp": float(i) * 1000}
            for i, ids in enumerate(seq)]


def test_s3fifo_keeps_a_hot_prefix_through_scans_that_flush_lru_and_fifo():
    hot = [0, 1]
    seq = [hot, hot, hot]
    for i in range(10):  # between uses of the hot prefix, 30 blocks used once: more than the cache holds
        seq += [[1000 + 30 * i + j, 1000 + 30 * i + j + 1] for j in range(0, 30, 2)] + [hot]
    w = Workload.from_rows(_rows(seq), block_size=16)
    rate = {p: simulate(w, policy=p, capacity=20, theoretical=False).runs[0].hit_tokens
            for p in ("lru", "fifo", "s3fifo")}
    assert rate["lru"] == rate["fifo"] == 2 * 32  # only the 2nd and 3rd request hit
    assert rate["s3fifo"] == 12 * 32  # and S3-FIFO keeps the hot prefix for all ten returns


def test_ttl_drops_blocks_idle_longer_than_the_ttl():
    seq = [[0, 1], [0, 1], [5], [0, 1]]
    rows = _rows(seq)
    rows[1]["timestamp"], rows[2]["timestamp"], rows[3]["timestamp"] = 1000.0, 1500.0, 4000.0
    w = Workload.from_rows(rows, block_size=16)
    short = simulate(w, policy="ttl", ttl_s=2.0, capacity=100, theoretical=False).runs[0]
    long = simulate(w, policy="ttl", ttl_s=5.0, capacity=100, theoretical=False).runs[0]
    assert short.hit_tokens == 32  # turn 2 hits; turn 4 comes 3 s after the last use: expired
    assert long.hit_tokens == 64
    with pytest.raises(ValueError, match="ttl_s"):
        simulate(w, policy="ttl", capacity=100)


def test_session_lru_evicts_a_whole_context_at_once():
    w = Workload.from_rows(_rows([[0, 1], [2], [1]]), block_size=16)
    lru = simulate(w, policy="lru", capacity=2, theoretical=False).runs[0]
    slru = simulate(w, policy="session-lru", capacity=2, theoretical=False).runs[0]
    assert (lru.hit_tokens, lru.evictions) == (16, 1)  # LRU evicts block 0 only, block 1 still hits
    assert (slru.hit_tokens, slru.evictions) == (0, 2)  # evicting 0 takes 1 (same request) with it


def test_sweep_is_monotone_in_capacity_for_lru_and_reports_theoretical_beside_it():
    w = multi_turn(7, sessions=30)
    rep = simulate(w, policy="lru", capacity=[2, 4, 8, 16, 64])
    rates = [r.hit_rate for r in rep.runs]
    assert rates == sorted(rates) and rates[-1] <= rep.theoretical.hit_rate + 1e-12
    rows = rep.rows()
    assert [r["capacity"] for r in rows] == [2, 4, 8, 16, 64]
    assert all(r["theoretical_hit_rate"] == rep.theoretical.hit_rate for r in rows)
    d = rep.to_dict()
    assert d["runs"][0]["policy"] == "lru" and 0 <= d["theoretical_hit_rate"] <= 1


def test_bad_arguments_are_named():
    w = multi_turn(1)
    with pytest.raises(ValueError, match="policy"):
        simulate(w, policy="mru")
    with pytest.raises(ValueError, match="capacity"):
        simulate(w, capacity=0)
    with pytest.raises(ValueError, match="semantics"):
        simulate(w, semantics="sglang")
    with pytest.raises(ValueError, match="concurrency"):
        simulate(w, load="closed")
    assert np.isfinite(simulate(w, capacity=3).runs[0].hit_rate)
