"""Seed 000's semantics, asserted on generated files."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from agenttrace_pipeline.synth.engine import GenerationError
from agenttrace_pipeline.trace.validator import validate_file
from tests.synth.helpers import config, generate, rows, sessions


def test_prefix_layers_and_fresh_ids(tmp_path: Path):
    cfg = config(cache={"layer1_tokens": 2000, "layer1_5_tokens": 1500, "layer2": {"mean": 3000, "median": 2000},
                        "layer1_5_groups": {"num_groups": 4, "zipf_alpha": 1.2}}, restart_initial_probability=0)
    res = generate(tmp_path, cfg, n=400)
    l1b, l15b = math.ceil(2000 / 512), math.ceil(1500 / 512)
    prefix_tokens = (l1b + l15b) * 512
    seen_fresh: set[int] = set()
    groups = Counter()
    for turns in sessions(res.dataset).values():
        t0 = turns[0]
        g = t0["group_id"]
        groups[g] += 1
        ids = t0["hash_ids"]
        assert ids[:l1b] == list(range(l1b))  # L1: shared by everyone
        assert ids[l1b:l1b + l15b] == list(range(l1b + g * l15b, l1b + (g + 1) * l15b))  # L1.5 of its group
        assert t0["input_length"] > prefix_tokens and t0["timestamp"] == 0.0
        own = ids[l1b + l15b:] + [h for t in turns[1:] for h in t["hash_ids"]]
        assert not seen_fresh & set(own), "sessions must own disjoint id regions"
        seen_fresh |= set(own)
        for t in turns[1:]:
            assert len(t["hash_ids"]) == math.ceil(t["input_length"] / 512)  # only the new tokens' ids
    assert set(groups) <= {0, 1, 2, 3} and groups[0] == max(groups.values())  # Zipf: group 0 most common
    assert validate_file(res.dataset).valid


def test_context_limit_and_end_reasons(tmp_path: Path):
    res = generate(tmp_path, config(restart_initial_probability=0), n=500)
    for sid, turns in sessions(res.dataset).items():
        cum = turns[0]["input_length"]
        assert cum <= 167000 - 1
        for prev, t in zip(turns, turns[1:], strict=False):
            cum += prev["output_length"] + t["input_length"]
            assert cum < 167000, sid
    ends = res.sessions_frame()["end_reason"].value_counts()
    got = dict(zip(ends["end_reason"], ends["count"], strict=True))
    assert set(got) == {"forced_retire", "probabilistic_reset"} and sum(got.values()) == 500
    util = res.quality["session_end_stats"]["final_context_utilization"]
    assert 0 < util["median"] < 1


def test_without_reset_every_session_runs_into_the_context_limit(tmp_path: Path):
    res = generate(tmp_path, config(reset=None, restart_initial_probability=0), n=200)
    assert set(res.sessions_frame()["end_reason"]) == {"forced_retire"}
    assert res.quality["session_end_stats"]["final_context_utilization"]["p05"] > 0.85


def test_reset_probability_grows_with_utilisation(tmp_path: Path):
    flat = generate(tmp_path, config(reset={"base_probability": 0.05, "context_scaling": 1.0},
                                     restart_initial_probability=0), n=1500, name="flat")
    steep = generate(tmp_path, config(reset={"base_probability": 0.05, "context_scaling": 4.0},
                                      restart_initial_probability=0), n=1500, name="steep")
    frac = lambda r: r.quality["session_end_stats"]["fractions"]["probabilistic_reset"]  # noqa: E731
    assert frac(steep) > frac(flat) + 0.1


def test_restart_continuations(tmp_path: Path):
    n = 400
    res = generate(tmp_path, config(restart_initial_probability=1.0, restart_turn_range=[3, 6]), n=n)
    by_id = sessions(res.dataset)
    order = list(by_id)
    primaries = [s for s in order if not s.endswith("-r1")]
    assert len(primaries) == n
    conts = [s for s in order if s.endswith("-r1")]
    assert conts, "restarts expected"
    for b in conts:
        a = b[:-3]
        ta, tb = by_id[a], by_id[b]
        assert tb[0]["is_restart"] is True and "is_restart" not in ta[0]
        assert tb[0]["group_id"] == ta[0]["group_id"]
        assert 3 <= len(ta) < 6  # split at r ~ U[3, 6)
        acc = sum(t["input_length"] for t in ta) + sum(t["output_length"] for t in ta)
        assert tb[0]["input_length"] == min(acc, 167000 - 1)  # carries A's accumulated context
        full_l2 = (ta[0]["input_length"] - 63 * 512) // 512
        assert tb[0]["hash_ids"][: 63 + full_l2] == ta[0]["hash_ids"][: 63 + full_l2]  # A's whole blocks reused
        assert order.index(b) - order.index(a) >= n // 4  # never in A's concurrency window
        assert primaries.index(a) / (n - 1) < 0.75  # restarts only in the first 75 % of primaries
    ends = Counter(res.sessions_frame()["end_reason"])
    assert ends["restart_split"] == len(conts)
    assert validate_file(res.dataset).valid  # one block size per id, despite the reuse


def test_restart_probability_decays_linearly():
    from agenttrace_pipeline.synth.engine import restart_probabilities

    p = restart_probabilities(0.6, 0, 101, 101)
    assert p[0] == pytest.approx(0.6) and p[25] == pytest.approx(0.4) and p[50] == pytest.approx(0.2)
    assert np.all(p[75:] == 0)


def test_explicit_turn_counts(tmp_path: Path):
    cfg = config(reset=None, restart_initial_probability=0, turns={"mean": 8, "median": 6, "min": 1, "max": 20})
    res = generate(tmp_path, cfg, n=800)
    f = res.sessions_frame()
    assert set(f["end_reason"]) == {"target_turn_count"}
    assert f["turns"].min() >= 1 and f["turns"].max() <= 20
    q = res.quality["observed_vs_target"]["turns_per_session"]
    assert q["target_mean"] is not None and abs(q["pct_error_mean"]) < 5


def test_explicit_turns_that_never_fit_fail_naming_the_session(tmp_path: Path):
    cfg = config(reset=None, restart_initial_probability=0, max_prompt_tokens=60000,
                 turns={"mean": 40, "median": 40, "max_session_attempts": 5})
    with pytest.raises(GenerationError, match=r"session 0 \(target 40 turns\) did not fit below max_prompt_tokens=60000 in 5 attempts"):
        generate(tmp_path, cfg, n=20)


def test_truncation_or_resampling_instead_of_aborting(tmp_path: Path):
    base = {"reset": None, "restart_initial_probability": 0, "max_prompt_tokens": 90000}
    trunc = generate(tmp_path, config(**base, turns={"mean": 12, "median": 8, "allow_truncation": True}), n=300, name="t")
    ends = Counter(trunc.sessions_frame()["end_reason"])
    assert ends["forced_retire"] > 0 and ends["target_turn_count"] > 0
    resample = generate(tmp_path, config(**base, turns={"mean": 12, "median": 8, "max_session_attempts": 3,
                                                        "on_exhausted": "resample"}), n=300, name="r")
    assert set(resample.sessions_frame()["end_reason"]) == {"target_turn_count"}


def test_poisson_and_trace_arrivals(tmp_path: Path):
    res = generate(tmp_path, config(arrival={"process": "poisson", "rate_per_s": 2.0}, restart_initial_probability=0), n=2000)
    ts = np.array([r["timestamp"] for r in rows(res.dataset) if "timestamp" in r])
    assert np.all(np.diff(ts) >= 0) and np.diff(ts).mean() == pytest.approx(500, rel=0.1)
    sample = Path(__file__).resolve().parents[2] / "assets_config" / "samples" / "mooncake_sample.jsonl"
    res2 = generate(tmp_path, config(arrival={"process": "trace", "trace": str(sample), "time_scale": 0.5}), n=200, name="tr")
    ts2 = [r["timestamp"] for r in rows(res2.dataset) if "timestamp" in r]
    assert ts2[0] == 0.0 and max(ts2) > 0


def test_continuations_start_after_their_primary_ends_when_arrivals_are_on(tmp_path: Path):
    res = generate(tmp_path, config(arrival={"process": "poisson", "rate_per_s": 50.0}, restart_initial_probability=1.0), n=300)
    by_id = sessions(res.dataset)
    for b, tb in by_id.items():
        if b.endswith("-r1"):
            ta = by_id[b[:-3]]
            slack = 0.05 * len(ta) + 0.1  # delays and timestamps are written rounded to 0.1 ms
            assert tb[0]["timestamp"] >= ta[0]["timestamp"] + sum(t["delay"] for t in ta[1:]) - slack
