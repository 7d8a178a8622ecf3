"""Replays against the simulated engine: hit rates, accounting, faults, flushing."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from polars.testing import assert_frame_equal

from agenttrace_pipeline.cachesim.simulate import simulate
from agenttrace_pipeline.replay.options import EndpointSpec, ReplayOptions
from agenttrace_pipeline.replay.runner import run_replay
from agenttrace_pipeline.simserver.config import SimConfig
from agenttrace_pipeline.simserver.serve import running_sim

DATA = Path(__file__).parents[1] / "fixtures" / "replay" / "small_sessions.jsonl"
N = 46


def _replay(cfg: SimConfig, **opts):
    with running_sim(cfg) as h:
        ep = EndpointSpec(h.url, "sim", "sim", capacity_blocks=cfg.capacity_blocks, block_tokens=cfg.block_tokens)
        return run_replay(DATA, ep, ReplayOptions(**opts))


def test_served_hit_rate_equals_offline_simulation():
    for cap, endpoint in ((40, "completions"), (400, "chat")):
        cfg = SimConfig(capacity_blocks=cap, block_tokens=16, time_scale=0.0)
        res = _replay(cfg, mode="closed", concurrency=1, endpoint=endpoint)
        offline = simulate(DATA, semantics="vllm", engine_block=16, capacity=cap, load="file", theoretical=False)
        hr = res.hit_rates
        assert 0.05 < hr["usage_cached_tokens"] < 0.95
        assert abs(hr["usage_cached_tokens"] - offline.runs[0].hit_rate) < 0.005
        assert abs(hr["server_counters"] - offline.runs[0].hit_rate) < 0.005
        assert not hr["mismatch"] and hr["counter_dialect"] == "vllm"
        assert res.summary["token_rule_deviation"]["max"] == 0.0  # the byte rule inverts the text synthesis


def test_fixed_schedule_accounts_for_every_request_and_measures_lateness():
    batches: list[pl.DataFrame] = []
    cfg = SimConfig(time_scale=0.01)
    with running_sim(cfg) as h:
        ep = EndpointSpec(h.url, "sim", "sim", capacity_blocks=cfg.capacity_blocks, block_tokens=cfg.block_tokens)
        res = run_replay(DATA, ep, ReplayOptions(time_scale=0.2, flush_every=10, warmup=3), sink=batches.append)
    df = res.requests
    assert df.height == N and sorted(df["row"].to_list()) == list(range(N))
    assert sum(b.height for b in batches) == N and len(batches) >= 4
    assert df["error"].null_count() == N and (df["finish_reason"] == "length").all()
    assert df["warmup"].sum() == 3 and res.summary["measured"] == N - 3
    assert res.summary["lateness_ms"]["p99"] < 50 and res.summary["ttft_ms"]["p50"] > 0
    later = df.filter(pl.col("turn") > 0)
    assert (later["target_ms"] > 0).all()  # continuation turns are scheduled and measured too


def test_faults_are_recorded_and_later_turns_skipped():
    res = _replay(SimConfig(time_scale=0.0, error_rate=0.3, seed=1), mode="closed", concurrency=4)
    df = res.requests
    assert df.height == N
    errs = set(df["error"].drop_nulls().to_list())
    assert {"http_5xx", "skipped_after_failure"} <= errs
    first_fail = df.filter(pl.col("error") == "http_5xx").group_by("session").agg(pl.col("turn").min())
    for s, t in first_fail.iter_rows():
        later = df.filter((pl.col("session") == s) & (pl.col("turn") > t))
        assert (later["error"] == "skipped_after_failure").all()
    assert res.summary["failed"] == df["error"].drop_nulls().len()


def test_duration_and_request_limits():
    res = _replay(SimConfig(time_scale=0.0), mode="closed", concurrency=2, max_requests=10)
    assert res.requests.height == 10
    res = _replay(SimConfig(time_scale=0.0), time_scale=1.0, duration_s=0.1)
    limited = res.requests.filter(pl.col("error") == "duration_limit")
    assert res.requests.height == N and 0 < limited.height < N


def test_virtual_clock_matches_the_offline_simulation_without_a_server():
    ep = EndpointSpec("in-process", "sim", "sim", capacity_blocks=40, block_tokens=16)
    res = run_replay(DATA, ep, ReplayOptions(clock="virtual", mode="closed", concurrency=1))
    offline = simulate(DATA, semantics="vllm", engine_block=16, capacity=40, load="file", theoretical=False)
    assert res.requests.height == N and res.requests["error"].null_count() == N
    assert abs(res.hit_rates["usage_cached_tokens"] - offline.runs[0].hit_rate) < 0.005
    assert res.summary["ttft_ms"]["p50"] > 16.5  # at least one modelled prefill step (pf0)
    assert res.summary["lateness_ms"]["max"] == 0.0


def test_virtual_fast_path_gives_the_step_by_step_records():
    from agenttrace_pipeline.replay.prompts import plan
    from agenttrace_pipeline.replay.runner import Recorder
    from agenttrace_pipeline.replay.virtual import replay_virtual

    # 60 blocks: decode runs that must stop short of a preemption; 40: eviction; None: long uninterrupted runs
    for cap, mode in ((60, "fixed"), (40, "closed"), (None, "closed")):
        ep = EndpointSpec("in-process", "sim", "sim", capacity_blocks=cap, block_tokens=16)
        opt = ReplayOptions(clock="virtual", mode=mode, concurrency=8, time_scale=0.05)
        runs = []
        for fast in (True, False):
            rec = Recorder(N, 0, 1 << 30, None, None)
            scrapes = replay_virtual(plan(DATA), ep, opt, rec, fast=fast)
            runs.append((pl.DataFrame(rec.records).sort("row"), scrapes.points))
        (fast_df, fast_pts), (slow_df, slow_pts) = runs
        assert fast_df.height == N and [p[1:] for p in fast_pts] == [p[1:] for p in slow_pts]  # hits, queries
        assert abs(fast_pts[-1][0] - slow_pts[-1][0]) < 1e-9  # end time (one multiplication vs k additions)
        # same TTFT, every ITL gap and cached tokens per request, up to float summation order
        assert_frame_equal(fast_df, slow_df, check_exact=False, rel_tol=1e-9, abs_tol=1e-9)
        assert fast_df["cached_tokens"].sum() > 0


def test_the_summary_counts_the_servers_preemptions():
    tight = _replay(SimConfig(capacity_blocks=60, block_tokens=16, time_scale=0.0), mode="closed", concurrency=8)
    roomy = _replay(SimConfig(capacity_blocks=4000, block_tokens=16, time_scale=0.0), mode="closed", concurrency=8)
    assert tight.summary["preemptions"] > 0 and roomy.summary["preemptions"] == 0
    ep = EndpointSpec("in-process", "sim", "sim", capacity_blocks=60, block_tokens=16)
    virtual = run_replay(DATA, ep, ReplayOptions(clock="virtual", mode="closed", concurrency=8))
    assert virtual.summary["preemptions"] > 0


def test_the_prediction_is_timed_by_the_named_engine_preset(tmp_path):
    import orjson
    import pytest

    slow = tmp_path / "slow.json"  # 10 ms a prompt token: requests overlap and pin each other's blocks
    slow.write_bytes(orjson.dumps({"pf1": 10.0, "dc0": 50.0}))
    cfg = SimConfig(capacity_blocks=40, block_tokens=16, time_scale=0.0)
    fast = _replay(cfg, time_scale=0.05)
    pinned = _replay(cfg, time_scale=0.05, predict_engine=str(slow))
    assert pinned.hit_rates["simulator"] < fast.hit_rates["simulator"]
    with pytest.raises(ValueError, match="unknown engine preset 'no-such-preset'"):
        ReplayOptions(predict_engine="no-such-preset")
