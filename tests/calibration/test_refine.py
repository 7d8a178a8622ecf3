"""Matching the simulated engine to a measured replay: a known load factor and request time come back."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from agenttrace_pipeline.cachesim.cost_model import EngineCost
from agenttrace_pipeline.calibration.loop import replay_options
from agenttrace_pipeline.calibration.refine import quantiles, refine, scaled, simulate
from agenttrace_pipeline.calibration.workloads import make_dataset

BASE = EngineCost(name="sweep", pf2=0.0, pf1=0.008, pf0=1.2, pf_ctx=0.013, dc0=1.2, dc_batch=0.05, dc_ctx=0.18,
                  request_ms=5.0, floor_ms=0.5, max_batch_tokens=4096.0)
GEOMETRY = {"block_tokens": 128, "capacity_blocks": 256, "max_seqs": 256, "max_batch_tokens": 4096}


def test_refine_recovers_the_load_factor_and_request_time(tmp_path: Path) -> None:
    ds = make_dataset("cpu-agent", sessions=20, seed=3, root=tmp_path)
    opts = replay_options()
    measured = simulate(ds, scaled(BASE, 1.0, 1.8, 9.0), options=opts, **GEOMETRY)  # "the engine under load"
    r = refine(BASE, ds, measured, options=opts, **GEOMETRY)
    # decoding slower under load comes back; a slower prefill and a longer request time both lengthen TTFT, so
    # those two trade off a little against each other
    assert r.decode_load == pytest.approx(1.8, rel=0.05) and r.prefill_load == pytest.approx(1.0, rel=0.15)
    assert r.request_ms == pytest.approx(9.0, abs=2.0)
    assert max(abs(e) for e in r.errors("after")) < 0.03
    assert min(r.errors("before")) < -0.2  # the sweep's preset alone was well off
    assert r.engine.dc_ctx == pytest.approx(BASE.dc_ctx * r.decode_load) and "matched to a measured replay" in r.engine.source
    report = r.to_dict()
    assert set(report["error_after"]) == {"ttft_p10", "ttft_p50", "ttft_p90", "e2e_p10", "e2e_p50", "e2e_p90", "tpot_p50", "tpot_p90"}


def test_refine_needs_a_successful_request(tmp_path: Path) -> None:
    ds = make_dataset("cpu-agent", sessions=2, seed=1, root=tmp_path)
    failed = pl.DataFrame({"ttft_ms": [None], "e2e_ms": [1.0], "error": ["timeout"]}, schema_overrides={"ttft_ms": pl.Float64})
    with pytest.raises(ValueError, match="no successful request"):
        refine(BASE, ds, failed, options=replay_options(), **GEOMETRY)
    assert quantiles(simulate(ds, BASE, options=replay_options(), **GEOMETRY))[0] > BASE.request_ms
