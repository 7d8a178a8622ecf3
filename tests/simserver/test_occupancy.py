"""What a running request holds, and what a finished one leaves cached, as vLLM counts them."""

from __future__ import annotations

from agenttrace_pipeline.cachesim.cost_model import EngineCost
from agenttrace_pipeline.cachesim.simulate import simulate
from agenttrace_pipeline.cachesim.workload import Workload
from agenttrace_pipeline.simserver.engine import Engine, Seq
from agenttrace_pipeline.simserver.pool import BlockPool

COST = EngineCost(name="flat", pf2=0.0, pf1=0.01, pf0=1.0, dc0=1.0, dc1=0.0, dc2=0.0, floor_ms=0.1)


def _serve(eng: Engine, seq: Seq, now: float) -> float:
    eng.submit(seq, now)
    while not eng.idle:
        ms = eng.schedule(now)
        n = eng.decode_run()
        now += ms * n
        eng.complete(now, ms, n)
    return now


def test_a_decoding_request_evicts_cached_blocks_for_the_tokens_it_generates() -> None:
    eng = Engine(COST, BlockPool(10, 16))
    now = _serve(eng, Seq(1, b"a" * 64, 1, "x"), 0.0)  # 4 cached blocks
    # 4 prompt blocks + 3 more for 39 computed reply tokens: 11 > 10, so one of the first prompt's blocks goes
    now = _serve(eng, Seq(2, b"b" * 64, 40, "y" * 40), now)
    again = Seq(3, b"a" * 64 + b"c" * 16, 1, "z")
    _serve(eng, again, now)
    assert again.cached_tokens == 48
    # the offline simulation (file order, each request alone) counts the same blocks
    rows = [{"input_length": 64, "output_length": 1, "hash_ids": [1, 2, 3, 4]},
            {"input_length": 64, "output_length": 40, "hash_ids": [5, 6, 7, 8]},
            {"input_length": 80, "output_length": 1, "hash_ids": [1, 2, 3, 4, 9]}]
    w = Workload.from_rows(rows, block_size=16)
    run = simulate(w, semantics="vllm", capacity=10, theoretical=False).runs[0]
    assert run.per_request["hit_tokens"].tolist() == [0, 0, 48]
    free = simulate(w, semantics="vllm", capacity=10, theoretical=False, running_blocks=False).runs[0]
    assert free.per_request["hit_tokens"].tolist() == [0, 0, 64]  # the capacity all for cached blocks


def test_the_block_only_the_last_reply_token_fills_is_not_cached() -> None:
    eng = Engine(COST, BlockPool(None, 16))
    first = Seq(1, b"p" * 48, 16, "r" * 16)  # 64 tokens, but keys and values for 63: the last is sampled only
    now = _serve(eng, first, 0.0)
    assert len(first.stream_hashes) == 3
    later = Seq(2, b"p" * 48 + b"r" * 16 + b"n" * 16, 1, "s", hashes=list(first.stream_hashes),
                blocks=first.stream_blocks)
    _serve(eng, later, now)
    assert later.cached_tokens == 48
    longer = Seq(3, b"q" * 48, 17, "t" * 17)  # one more reply token: the fourth block is computed and cached
    now = _serve(eng, longer, now)
    assert len(longer.stream_hashes) == 4
    follow = Seq(4, b"q" * 48 + b"t" * 17 + b"n" * 15, 1, "s")
    _serve(eng, follow, now)
    assert follow.cached_tokens == 64
