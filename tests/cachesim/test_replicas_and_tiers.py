from __future__ import annotations

import numpy as np
import pytest

from agenttrace_pipeline.cachesim.cost_model import EngineCost
from agenttrace_pipeline.cachesim.simulate import prepare, run_one
from agenttrace_pipeline.cachesim.workload import Workload

from .helpers import multi_turn


@pytest.fixture(scope="module")
def prep():
    return prepare(multi_turn(11, sessions=40, shared=4))


def test_session_affinity_keeps_every_session_on_one_replica(prep):
    run = run_one(prep, replicas=4, routing="session-affinity", capacity=30, load="open")
    rep = run.per_request["replica"]
    for s in range(prep.workload.n_sessions):
        a, b = prep.workload.sess_first[s], prep.workload.sess_first[s + 1]
        assert len(set(rep[a:b].tolist())) == 1


def test_round_robin_spreads_requests_evenly(prep):
    run = run_one(prep, replicas=4, routing="round-robin", capacity=30)
    counts = np.bincount(run.per_request["replica"], minlength=4)
    assert counts.max() - counts.min() <= 1 and run.imbalance < 1.05


def test_prefix_routing_hot_spots_on_the_shared_prefix_and_the_load_cap_fixes_it(prep):
    rnd = run_one(prep, replicas=4, routing="random", capacity=30, load="open", seed=1)
    aff = run_one(prep, replicas=4, routing="session-affinity", capacity=30, load="open")
    pre = run_one(prep, replicas=4, routing="prefix", capacity=30, load="open")
    cap = run_one(prep, replicas=4, routing="prefix-load-cap", load_cap=1.0, capacity=30, load="open")
    # every turn 0 finds the shared prefix only where the first session ran: pure prefix routing piles
    # everything on that replica; the load cap spreads sessions and keeps their contexts warm
    assert pre.imbalance == pytest.approx(4.0)
    assert cap.imbalance < 1.3 and cap.hit_rate > rnd.hit_rate and aff.hit_rate > rnd.hit_rate
    assert sum(r["requests"] for r in cap.replicas) == prep.workload.n_requests


def test_random_routing_is_reproducible_from_its_seed(prep):
    a = run_one(prep, replicas=3, routing="random", capacity=30, seed=5).per_request["replica"]
    b = run_one(prep, replicas=3, routing="random", capacity=30, seed=5).per_request["replica"]
    assert np.array_equal(a, b)


def test_host_tier_turns_device_misses_into_host_hits_that_cost_a_transfer():
    rows = [{"input_length": 2048, "output_length": 2, "hash_ids": [1, 2, 3, 4], "timestamp": 0.0},
            {"input_length": 2048, "output_length": 2, "hash_ids": [5, 6, 7, 8], "timestamp": 1e5},
            {"input_length": 2048, "output_length": 2, "hash_ids": [1, 2, 3, 4], "timestamp": 2e5}]
    w = Workload.from_rows(rows, block_size=512)
    eng = EngineCost(host_gbps=10.0)
    dev = run_one(prepare(w), capacity=4, load="open", engine=eng)
    tier = run_one(prepare(w), capacity=4, host_capacity=8, load="open", engine=eng)
    assert (dev.hit_tokens, dev.host_hit_tokens) == (0, 0)
    assert (tier.hit_tokens, tier.host_hit_tokens) == (0, 2048)
    assert tier.host_hit_rate == pytest.approx(2048 / 6144)
    ttft = tier.per_request["ttft_ms"][2]
    assert ttft == pytest.approx(eng.prefill_ms(0) + eng.transfer_ms(2048))
    assert ttft < dev.per_request["ttft_ms"][2]
    assert tier.by_layer["L2"]["host_hit_tokens"] == 2048


def test_residency_histograms_count_every_eviction():
    run = run_one(prepare(multi_turn(4, sessions=30)), capacity=6, load="open")
    assert run.evictions > 0
    assert run.residency["lifetime"]["count"] == run.residency["idle_before_evict"]["count"] == run.evictions
    assert run.residency["reuse_gap"]["count"] > 0
