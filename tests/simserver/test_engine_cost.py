"""The simulated engine charges a calibrated preset's attention terms per step and its request time per request."""

from __future__ import annotations

import pytest

from agenttrace_pipeline.cachesim.cost_model import EngineCost
from agenttrace_pipeline.simserver.engine import Engine, Seq
from agenttrace_pipeline.simserver.pool import BlockPool

COST = EngineCost(name="ctx", pf2=0.0, pf1=0.01, pf0=2.0, pf_ctx=0.02, dc0=1.0, dc_batch=0.1, dc_ctx=0.5,
                  dc_ctx_exp=0.5, request_ms=7.0, floor_ms=0.1)


def test_prefill_chunks_attend_their_prefix_and_decode_reads_the_context() -> None:
    eng = Engine(COST, BlockPool(None, 16), max_batch_tokens=1000)
    seq = Seq(1, b"x" * 1500, 3, "abc")
    eng.submit(seq, 0.0)
    first = eng.schedule(0.0)  # 1,000 of 1,500 tokens: they attend half of themselves
    assert first == pytest.approx(COST.prefill_ms(1000, 1000 * 500))
    eng.complete(first, first)
    second = eng.schedule(first)  # the other 500 attend the 1,000 before them and half of themselves
    assert second == pytest.approx(COST.prefill_ms(500, 500 * (1000 + 250)))
    eng.complete(first + second, second)
    step = eng.schedule(first + second)  # decoding: the prompt and the one token generated so far
    assert step == pytest.approx(COST.decode_ms(1, eng.pool.usage, (1501 / 1000) ** 0.5))
    assert eng.decode_run() == 1  # each step reads one token more: no run of identical steps


def test_virtual_replay_counts_the_request_time(tmp_path) -> None:
    from agenttrace_pipeline.calibration.loop import replay_options
    from agenttrace_pipeline.calibration.refine import simulate
    from agenttrace_pipeline.calibration.workloads import make_dataset

    ds = make_dataset("cpu-agent", sessions=1, seed=1, root=tmp_path)
    geo = {"block_tokens": 128, "capacity_blocks": 256, "max_seqs": 8, "max_batch_tokens": 8192}
    slow, fast = (simulate(ds, EngineCost(name=n, request_ms=ms), options=replay_options(), **geo) for n, ms in
                  (("slow", 40.0), ("fast", 0.0)))
    first_slow, first_fast = slow.sort("row").row(0, named=True), fast.sort("row").row(0, named=True)
    assert first_slow["ttft_ms"] == pytest.approx(first_fast["ttft_ms"] + 40.0)
    assert first_slow["sent_ms"] == first_fast["sent_ms"]  # records count from the send, not from the scheduler
