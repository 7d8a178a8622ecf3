from __future__ import annotations

import numpy as np
import orjson
import pytest

from agenttrace_pipeline.cachesim.cost_model import EngineCost, load_engine
from agenttrace_pipeline.cachesim.simulate import simulate
from agenttrace_pipeline.cachesim.workload import Workload

from .helpers import multi_turn

ENG = EngineCost()


def test_uncalibrated_preset_is_the_published_polynomial():
    e = load_engine("gpu-uncalibrated")
    assert e.prefill_ms(1000) == pytest.approx(4.21e-7 * 1e6 + 15.2 + 16.5)
    assert e.decode_ms(1, 0.5) == pytest.approx(-25.74 * 0.25 + 54.01 * 0.5 + 5.74)
    assert e.decode_ms(1, 5.0) == 1.0  # the floor
    assert not e.calibrated


def test_calibrated_presets_load_from_json_and_bad_ones_are_named(tmp_path):
    path = tmp_path / "h100-vllm.json"
    path.write_bytes(orjson.dumps({"calibrated": True, "source": "bench run 7", "pf1": 0.01, "pf0": 5.0}))
    e = load_engine(path)
    assert (e.name, e.pf1, e.pf0, e.calibrated) == ("h100-vllm", 0.01, 5.0, True)
    bad = tmp_path / "bad.json"
    bad.write_bytes(orjson.dumps({"pf9": 1}))
    with pytest.raises(ValueError, match=r"bad\.json.*pf9"):
        load_engine(bad)
    with pytest.raises(ValueError, match="unknown engine preset"):
        load_engine("no-such-engine")


def test_a_lone_request_waits_only_for_its_uncached_prefill():
    rows = [{"input_length": 2048, "output_length": 11, "hash_ids": [1, 2, 3, 4], "timestamp": 0.0},
            {"input_length": 2048, "output_length": 11, "hash_ids": [1, 2, 3, 4], "timestamp": 60_000.0}]
    w = Workload.from_rows(rows, block_size=512)
    run = simulate(w, load="open", capacity=None, theoretical=False).runs[0]
    ttft = run.per_request["ttft_ms"]
    assert ttft[0] == pytest.approx(ENG.prefill_ms(2048))
    assert ttft[1] == pytest.approx(ENG.prefill_ms(0))  # fully cached (simple semantics)
    itl = ENG.decode_ms(1, 0.0)
    assert run.per_request["end_ms"][0] == pytest.approx(ttft[0] + 10 * itl)


def test_open_loop_starts_each_later_turn_its_delay_after_the_previous_turn_ends():
    w = multi_turn(5, sessions=8)
    run = simulate(w, load="open", capacity=20, theoretical=False).runs[0]
    start, end = run.per_request["start_ms"], run.per_request["end_ms"]
    later = np.flatnonzero(w.turn > 0)
    np.testing.assert_allclose(start[later], end[later - 1] + w.delay[later])
    first = w.sess_first[:-1]
    np.testing.assert_allclose(start[first], w.timestamp[first])


def test_closed_loop_never_runs_more_sessions_than_its_concurrency():
    w = multi_turn(9, sessions=20)
    run = simulate(w, load="closed", concurrency=3, capacity=30, theoretical=False).runs[0]
    start, end = run.per_request["start_ms"], run.per_request["end_ms"]
    s0 = start[w.sess_first[:-1]]
    s1 = end[w.sess_first[1:] - 1]
    for t in np.r_[s0, s1]:
        assert ((s0 <= t) & (t < s1)).sum() <= 3
    assert run.latency["session_ms"]["p50"] > 0


def test_queueing_raises_ttft_when_prefills_collide():
    rows = [{"session_id": f"s{i}", "input_length": 8192, "output_length": 10,
             "hash_ids": list(range(16 * i, 16 * i + 16)),
             "timestamp": 0.0} for i in range(8)]
    w = Workload.from_rows(rows, block_size=512)
    run = simulate(w, load="open", capacity=None, theoretical=False).runs[0]
    ttft = np.sort(run.per_request["ttft_ms"])
    np.testing.assert_allclose(ttft, ENG.prefill_ms(8192) * np.arange(1, 9))  # one prefill at a time
    assert run.latency["ttft_ms"]["p99"] > run.latency["ttft_ms"]["p50"]


def test_progress_is_reported_up_to_the_request_count():
    w = multi_turn(2, sessions=10)
    seen = []
    simulate(w, load="open", capacity=10, theoretical=False, progress=lambda d, t: seen.append((d, t)))
    assert seen and seen[-1] == (w.n_requests, w.n_requests)


def _burst(sizes, block=512, gap=0.0):
    rows = []
    for i, n in enumerate(sizes):
        k = -(-n // block)
        rows.append({"session_id": f"s{i}", "input_length": n, "output_length": 2,
                     "hash_ids": list(range(1000 * i, 1000 * i + k)), "timestamp": i * gap})
    return Workload.from_rows(rows, block_size=block)


def test_small_prompts_waiting_together_share_one_prefill_step():
    run = simulate(_burst([1000, 1000, 1000, 1000]), load="open", capacity=None, theoretical=False).runs[0]
    ttft = run.per_request["ttft_ms"]
    first = ENG.prefill_ms(1000)  # the first arrival finds the engine idle and goes alone
    assert ttft[0] == pytest.approx(first)
    np.testing.assert_allclose(ttft[1:], first + ENG.prefill_ms(3000))  # the other three: one step of 3000


def test_a_long_prompt_is_prefilled_in_steps_of_max_batch_tokens():
    run = simulate(_burst([20_000]), load="open", capacity=None, theoretical=False).runs[0]
    expected = 2 * ENG.prefill_ms(8192) + ENG.prefill_ms(20_000 - 2 * 8192)
    assert run.per_request["ttft_ms"][0] == pytest.approx(expected)
    alone = simulate(_burst([20_000]), load="file", capacity=None, theoretical=False).runs[0]
    assert alone.per_request["ttft_ms"][0] == pytest.approx(expected)  # untimed modes use the same steps
    unlimited = EngineCost(max_batch_tokens=0)
    one = simulate(_burst([20_000]), load="open", capacity=None, theoretical=False, engine=unlimited).runs[0]
    assert one.per_request["ttft_ms"][0] == pytest.approx(unlimited.prefill_ms(20_000))


def test_decode_steps_slow_down_as_more_requests_decode_together():
    eng = EngineCost(dc_batch=0.5)
    rows = [{"session_id": f"s{i}", "input_length": 512, "output_length": 500, "hash_ids": [i],
             "timestamp": 100.0 * i} for i in range(4)]
    run = simulate(Workload.from_rows(rows, block_size=512), load="open", capacity=None, theoretical=False,
                   engine=eng).runs[0]
    # each arrives while the earlier ones still decode: the i-th decodes in a batch of i + 1
    np.testing.assert_allclose(run.per_request["itl_ms"], [eng.decode_ms(b, 0.0) for b in (1, 2, 3, 4)])


CTX = EngineCost(name="ctx", pf2=0.0, pf1=0.01, pf0=2.0, pf_ctx=0.02, dc0=1.0, dc_batch=0.1, dc_ctx=0.5,
                 dc_ctx_exp=0.7, request_ms=7.0, floor_ms=0.1, max_batch_tokens=1024.0)


def test_context_terms_and_request_time_in_the_offline_simulation():
    """A calibrated preset's attention and per-request terms time the offline run as they do the simulated server."""
    rows = [{"input_length": 2048, "output_length": 11, "hash_ids": [1, 2, 3, 4], "timestamp": 0.0},
            {"input_length": 3072, "output_length": 11, "hash_ids": [1, 2, 3, 4, 5, 6], "timestamp": 60_000.0}]
    w = Workload.from_rows(rows, block_size=512)
    run = simulate(w, load="open", capacity=None, theoretical=False, engine=CTX).runs[0]
    ttft, end = run.per_request["ttft_ms"], run.per_request["end_ms"]
    # two steps of 1,024 tokens; the pairs attended add up to 2048·(0 + 2048/2) however the prompt is cut
    assert ttft[0] == pytest.approx(7.0 + 2 * CTX.prefill_ms(1024) + 0.02 * 2048 * 1024 / 1e3)
    # the second prompt's first 2,048 tokens hit: its 1,024 new ones attend them and half of themselves
    assert ttft[1] == pytest.approx(7.0 + CTX.prefill_ms(1024, 1024 * (2048 + 512)))
    assert ttft[1] < ttft[0]
    itl0 = CTX.decode_ms(1, 0.0, ((2048 + 11 / 2) / 1e3) ** 0.7)  # alone: its prompt and half its reply
    assert run.per_request["itl_ms"][0] == pytest.approx(itl0) and end[0] == pytest.approx(ttft[0] + 10 * itl0)
