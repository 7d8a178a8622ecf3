"""The cost-model fit: known parameters come back from noisy samples, stalls do not drag it, presets load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson
import polars as pl
import pytest

from agenttrace_pipeline.cachesim.cost_model import EngineCost, load_engine
from agenttrace_pipeline.calibration.fit import fit_samples, write_preset
from agenttrace_pipeline.calibration.sweep import SAMPLE_SCHEMA, replay_samples
from agenttrace_pipeline.simserver.config import SimConfig

TRUE = EngineCost(name="truth", pf2=0.0, pf1=0.008, pf0=1.5, pf_ctx=0.015, request_ms=5.0,
                  dc0=1.5, dc_batch=0.05, dc_ctx=0.4, dc_ctx_exp=0.7)


def _ttft(unc: float, prefix: float) -> float:
    return TRUE.request_ms + float(TRUE.prefill_ms(unc, unc * (prefix + unc / 2)))


def _samples(rng: np.random.Generator, noise: float, stall_share: float = 0.0) -> pl.DataFrame:
    rows = []
    cap = 32768
    for size in (32, 128, 512, 1024, 2048, 4096):
        for phase, unc in (("prefill_cold", size), ("prefill_warm", min(size, 128))):
            for _ in range(5):
                t = _ttft(unc, size - unc) * rng.lognormal(0, noise)
                rows.append({"phase": phase, "concurrency": 1, "prompt_tokens": size, "cached_tokens": size - unc,
                             "uncached_tokens": unc, "completion_tokens": 2, "ttft_ms": t, "e2e_ms": t + 1,
                             "step_ms": 1.0, "kv_fill": size / cap, "error": None})
    for ctx in (64, 1024, 3072):
        for n in (1, 2, 4, 8, 16):
            if n * (ctx + 128) > 0.9 * cap:
                continue  # the sweep skips what would preempt
            for _ in range(2 * n):
                step = float(TRUE.decode_ms(n, 0.0, n * TRUE.ctx_units(ctx + 64))) * rng.lognormal(0, noise)
                prefill = TRUE.request_ms + float(TRUE.prefill_ms(n * ctx, n * ctx * ctx / 2))
                rows.append({"phase": "decode", "concurrency": n, "prompt_tokens": ctx, "cached_tokens": 0,
                             "uncached_tokens": ctx, "completion_tokens": 128,
                             # streamed in bursts: the first chunk arrives late, the end is exact
                             "ttft_ms": 20.0 + 60 * step, "e2e_ms": prefill + 127 * step,
                             "step_ms": step / 50, "kv_fill": n * (ctx + 64) / cap, "error": None})
    df = pl.DataFrame(rows, schema=SAMPLE_SCHEMA)
    if stall_share:  # a busy shared CPU: some requests take several times as long
        stalled = rng.random(df.height) < stall_share
        df = df.with_columns(pl.when(pl.Series(stalled)).then(pl.col("ttft_ms") * 6).otherwise(pl.col("ttft_ms")),
                             pl.when(pl.Series(stalled)).then(pl.col("step_ms") * 6).otherwise(pl.col("step_ms")),
                             pl.when(pl.Series(stalled)).then(pl.col("e2e_ms") * 6).otherwise(pl.col("e2e_ms")))
    return df


@pytest.mark.parametrize("stalls", [0.0, 0.15])
def test_fit_recovers_the_cost_model(stalls: float) -> None:
    fit = fit_samples(_samples(np.random.default_rng(3), 0.05, stalls), name="t", source="test", max_batch_tokens=4096)
    e = fit.engine
    for unc, prefix in ((32, 0), (512, 0), (4096, 0), (128, 3968)):  # TTFT alone: request time plus one step
        got = e.request_ms + float(e.prefill_ms(unc, unc * (prefix + unc / 2)))
        assert got == pytest.approx(_ttft(unc, prefix), rel=0.1), (unc, prefix)
    for n, ctx in ((1, 100), (8, 1_000), (4, 3_000), (16, 1_100)):  # ctx: each request's context tokens
        got, want = (float(c.decode_ms(n, 0.0, n * c.ctx_units(ctx))) for c in (e, TRUE))
        assert got == pytest.approx(want, rel=0.15), (n, ctx)
    assert e.dc_ctx_exp == pytest.approx(TRUE.dc_ctx_exp, abs=0.1)  # context costs less per token as it grows
    assert e.dc_ctx == pytest.approx(TRUE.dc_ctx, rel=0.25) and e.pf_ctx == pytest.approx(TRUE.pf_ctx, rel=0.2)
    assert e.request_ms == pytest.approx(TRUE.request_ms, rel=0.3) and e.pf0 == pytest.approx(e.dc0)
    assert fit.prefill.r2 > 0.95
    # R² is on the ms scale: one group whose median is a stall pulls it down though the fit holds
    assert fit.decode.r2 > 0.9 if not stalls else fit.decode.rel_p50 < 0.05
    assert e.calibrated and e.max_batch_tokens == 4096 and "R²" in e.source


def test_fit_refuses_too_few_samples() -> None:
    df = _samples(np.random.default_rng(0), 0.0).filter(pl.col("phase") == "decode")
    with pytest.raises(ValueError, match="prefill fit needs"):
        fit_samples(df, name="t", source="test", max_batch_tokens=4096)


def test_written_preset_loads_into_the_simulated_engine(tmp_path: Path) -> None:
    fit = fit_samples(_samples(np.random.default_rng(1), 0.05), name="cpu-test", source="test", max_batch_tokens=2048)
    path = write_preset(fit, tmp_path / "presets" / "cpu-test.json")
    eng = load_engine(path)
    assert eng.name == "cpu-test" and eng.pf1 == pytest.approx(fit.engine.pf1)
    SimConfig(engine=str(path)).build()  # serve-sim --engine PATH accepts it
    report = orjson.loads((tmp_path / "presets" / "fits" / "cpu-test.fit.json").read_bytes())
    assert report["prefill"]["r2"] == pytest.approx(fit.prefill.r2) and report["decode"]["n"] == fit.decode.n
    assert [p.name for p in (tmp_path / "presets").glob("*.json")] == ["cpu-test.json"]  # the report is not a preset
    with pytest.raises(ValueError, match="must end in .json"):
        write_preset(fit, tmp_path / "x.txt")


def test_replay_records_become_samples_with_their_batch() -> None:
    from agenttrace_pipeline.replay.options import frame

    base = {"session": 0, "turn": 0, "warmup": False, "itl_ms": [1.0], "expected_prompt_tokens": 600,
            "prompt_tokens": 600, "completion_tokens": 22, "cached_tokens": 512, "error": None}
    recs = [{**base, "row": 0, "sent_ms": 0.0, "ttft_ms": 30.0, "e2e_ms": 93.0},
            {**base, "row": 1, "sent_ms": 10.0, "ttft_ms": 30.0, "e2e_ms": 100.0},   # decodes beside row 0
            {**base, "row": 2, "sent_ms": 500.0, "ttft_ms": 20.0, "e2e_ms": 80.0},   # alone
            {"row": 3, "session": 0, "turn": 1, "warmup": False, "error": "timeout", "expected_prompt_tokens": 9}]
    s = replay_samples(frame(recs))
    assert s.height == 3 and s["uncached_tokens"].to_list() == [88, 88, 88]
    assert s["step_ms"][0] == pytest.approx(3.0) and s["concurrency"].to_list() == [2, 2, 1]
    with pytest.raises(ValueError, match="lack column"):
        replay_samples(pl.DataFrame({"ttft_ms": [1.0]}))
