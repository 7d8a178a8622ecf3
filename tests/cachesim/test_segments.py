"""The chunked kernel (:mod:`agenttrace_pipeline.cachesim.segments`) gives the block kernel's results exactly."""

from __future__ import annotations

import numpy as np
import pytest

from agenttrace_pipeline.cachesim.segments import C_W
from agenttrace_pipeline.cachesim.simulate import prepare, run_one
from agenttrace_pipeline.cachesim.workload import Workload

from .helpers import multi_turn, single_turn

LOADS = [dict(load="file"), dict(load="nominal"), dict(load="open"), dict(load="closed", concurrency=3)]


def _same(a, b) -> None:
    assert (a.hit_tokens, a.host_hit_tokens, a.evictions, a.overcommits) == \
        (b.hit_tokens, b.host_hit_tokens, b.evictions, b.overcommits)
    assert (a.by_layer, a.by_turn, a.latency, a.replicas) == (b.by_layer, b.by_turn, b.latency, b.replicas)
    assert a.residency == b.residency
    for key in ("hit_tokens", "ttft_ms", "start_ms", "end_ms", "itl_ms"):
        np.testing.assert_array_equal(a.per_request[key], b.per_request[key], err_msg=key)


def _long_turns(seed: int) -> Workload:
    """Sessions whose turns add runs of 1-9 blocks over a shared prefix: chunks several blocks wide, so small
    caches evict part of a chunk and FIFO / S3-FIFO leave chunks in several pieces."""
    rng = np.random.default_rng(seed)
    rows, nxt = [], 1000
    for s in range(10):
        ids = list(range(int(rng.integers(0, 6)))) + list(range(nxt, nxt + 4))
        nxt += 4
        rows.append({"session_id": f"s{s}", "input_length": 16 * len(ids), "output_length": 3, "hash_ids": ids,
                     "timestamp": float(s * 7)})
        for _ in range(int(rng.integers(1, 7))):
            k = int(rng.integers(1, 10))
            rows.append({"session_id": f"s{s}", "input_length": 16 * k - int(rng.integers(0, 15)),
                         "output_length": 2, "hash_ids": list(range(nxt, nxt + k)), "delay": float(rng.integers(0, 30))})
            nxt += k
    return Workload.from_rows(rows, block_size=16)


@pytest.mark.parametrize("policy", ["lru", "fifo", "s3fifo", "infinite"])
@pytest.mark.parametrize("seed", range(4))
def test_chunked_kernel_equals_block_kernel(policy, seed):
    for w in (_long_turns(seed), multi_turn(seed), single_turn(seed)):
        prep = prepare(w)
        assert prep.layout is not None and prep.layout.ch[:, C_W].sum() == prep.streams.n_blocks
        for cap in (1, 2, 3, 5, 8, 13, 21, 40, None):
            for load in LOADS:
                a = run_one(prep, policy=policy, capacity=cap, **load)
                b = run_one(prep, policy=policy, capacity=cap, kernel="block", **load)
                _same(a, b)


def test_chunked_kernel_chunks_a_cumulative_trace_into_few_units():
    prep = prepare(_long_turns(0))
    uses = int(prep.streams.n_prompt.sum())
    assert prep.layout is not None and prep.layout.ch.shape[0] < uses / 3


def test_other_cases_use_the_block_kernel_and_bad_kernel_is_named():
    prep = prepare(multi_turn(1))
    with pytest.raises(ValueError, match="kernel"):
        run_one(prep, capacity=4, kernel="fast")
    assert prepare(multi_turn(1), "vllm").layout is None
