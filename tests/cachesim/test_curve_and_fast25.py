from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from agenttrace_pipeline.cachesim.simulate import prepare, run_one, simulate
from agenttrace_pipeline.cachesim.stack_distance import lru_curve

from .helpers import multi_turn, single_turn


@pytest.mark.parametrize("semantics", ["simple", "vllm"])
@pytest.mark.parametrize("seed", range(4))
def test_one_pass_lru_curve_equals_a_run_at_every_capacity(semantics, seed):
    for w in (multi_turn(seed, sessions=15), single_turn(seed)):
        prep = prepare(w, semantics, engine_block=8)
        curve = lru_curve(prep.streams)
        for cap in range(1, prep.streams.n_blocks + 2):
            assert curve.hit_tokens(cap) == run_one(prep, policy="lru", capacity=cap, running_blocks=False).hit_tokens, (cap, semantics)
        assert curve.hit_tokens(None) == run_one(prep, policy="infinite").hit_tokens


FAST25 = {  # REFERENCE §3/§7: simple semantics, block 512, infinite / LRU capacities in blocks
    "conversation": {None: 37.36, 50_000: 36.15, 6_000: 14.13, 1_000: 4.54},
    "synthetic": {None: 65.12, 6_000: 31.65, 1_000: 8.40},
}


@pytest.mark.parametrize("name", sorted(FAST25))
def test_fast25_hit_rates_within_five_hundredths_of_a_point(shared_data: Path, name):
    prep = prepare(shared_data / "mooncake" / f"{name}_trace.jsonl")
    figures = FAST25[name]
    curve = lru_curve(prep.streams)
    rep = simulate(prep, policy="lru", capacity=list(figures))
    for run, (cap, expected) in zip(rep.runs, figures.items(), strict=True):
        assert 100 * run.hit_rate == pytest.approx(expected, abs=0.05), (name, cap)
        assert 100 * curve.hit_rate(cap) == pytest.approx(expected, abs=0.05), (name, cap)
    assert 100 * rep.theoretical.hit_rate == pytest.approx(figures[None], abs=0.05)


def test_nominal_order_interleaves_sessions_and_the_curve_follows_it():
    w = multi_turn(8, sessions=20)
    prep = prepare(w)
    order = np.argsort(prep.reqf[0], kind="stable")
    assert not np.array_equal(order, np.arange(w.n_requests))  # sessions overlap in time
    curve = lru_curve(prep.streams, order)
    for cap in (1, 4, 9, 16, 30):
        nominal = run_one(prep, policy="lru", capacity=cap, load="nominal")
        assert curve.hit_tokens(cap) == nominal.hit_tokens
    starts = run_one(prep, capacity=8, load="nominal").per_request["start_ms"]
    assert np.all(np.diff(starts[order]) >= 0)
