"""Engine vs calibrated simulator: the errors, the targets, and the rows kept in the warehouse with lineage."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from agenttrace_pipeline.calibration import compare as cmp
from agenttrace_pipeline.replay.options import EndpointSpec, ReplayOptions, ReplayResult, frame


def _result(ttft50: float, ttft90: float, e2e50: float, hit: float | None) -> ReplayResult:
    pct = lambda p50, p90: {"mean": p50, "p50": p50, "p90": p90, "p99": p90, "max": p90}  # noqa: E731
    summary = {"planned": 10, "measured": 10, "completed": 10, "failed": 0, "errors": {}, "throughput_rps": 5.0,
               "goodput_rps": 5.0, "ttft_slo_ms": 2000.0, "ttft_ms": pct(ttft50, ttft90), "itl_ms": pct(2.0, 3.0),
               "e2e_ms": pct(e2e50, 2 * e2e50), "lateness_ms": {**pct(0.1, 0.2), "drift_ms_per_s": 0.0}, "degraded": False}
    rates = {"simulator": 0.5, "server_counters": hit, "usage_cached_tokens": hit, "mismatch": False, "frozen_counter": False}
    return ReplayResult(frame([]), summary, rates)


def test_errors_are_relative_for_times_and_points_for_hit_rate() -> None:
    c = cmp.compare(_result(100, 400, 1000, 0.70), _result(110, 320, 900, 0.705))
    assert c.errors["ttft_p50"] == pytest.approx(0.10) and c.errors["ttft_p90"] == pytest.approx(-0.20)
    assert c.errors["e2e_p50"] == pytest.approx(-0.10) and c.errors["hit_rate_pp"] == pytest.approx(0.5)
    assert c.within_targets
    worse = cmp.compare(_result(100, 400, 1000, 0.70), _result(120, 400, 1000, 0.72))
    assert worse.passed == {"ttft_p50": False, "ttft_p90": True, "e2e_p50": True, "hit_rate_pp": False}
    assert not worse.within_targets
    assert [r["measure"] for r in worse.table()] == ["ttft_p50", "ttft_p90", "e2e_p50", "hit_rate_pp"]


def test_repeat_engine_runs_give_the_engines_own_spread_beside_each_error() -> None:
    engine = _result(100, 400, 1000, 0.70)
    repeats = (_result(108, 380, 1150, 0.702), _result(95, 430, 1000, 0.69))
    c = cmp.compare(engine, _result(110, 320, 900, 0.705), repeats)
    spread = c.engine_spread
    assert spread is not None
    assert spread["ttft_p50"] == pytest.approx(0.08) and spread["ttft_p90"] == pytest.approx(0.075)
    assert spread["e2e_p50"] == pytest.approx(0.15) and spread["hit_rate_pp"] == pytest.approx(1.0)
    assert [r["engine_spread"] for r in c.table()] == [spread[k] for k in cmp.TARGETS]
    assert c.errors == cmp.compare(engine, _result(110, 320, 900, 0.705)).errors  # the repeats change no error
    assert cmp.compare(engine, engine).engine_spread is None
    assert all(r["engine_spread"] is None for r in cmp.compare(engine, engine).table())


def test_a_server_without_counters_cannot_pass_the_hit_rate_target() -> None:
    c = cmp.compare(_result(100, 400, 1000, None), _result(100, 400, 1000, 0.7))
    assert not c.passed["hit_rate_pp"]


def test_comparison_and_calibration_rows_go_to_the_warehouse_with_lineage(tmp_path: Path) -> None:
    from agenttrace_pipeline.store.warehouse import Warehouse

    wh = Warehouse(tmp_path / "wh" / "agenttrace.duckdb")
    c = cmp.compare(_result(100, 400, 1000, 0.70), _result(110, 320, 900, 0.705), (_result(130, 400, 1000, 0.70),))
    ep = EndpointSpec("http://127.0.0.1:1", "tiny", "vllm", "secret-key", 256, 128)
    rows = cmp.comparison_frame(c, comparison_id="cmp-1", calibration_id="cal-1", preset="cpu", dataset_id="ds",
                                options=ReplayOptions(), engine_identity=cmp.identity("vllm-cpu", ep),
                                sim_identity=cmp.identity("serve-sim", ep))
    cmp.store(wh, "replay_comparisons", "cmp-1", rows, asset="replay_comparison", inputs={"dataset": "abc"})
    got = wh.query("SELECT side, ttft_p50_ms, ttft_p50_error, within_targets, endpoint_kind FROM replay_comparisons ORDER BY side")
    assert got["side"].to_list() == ["engine", "engine_repeat_1", "simulator"]
    assert got["ttft_p50_ms"].to_list() == [100, 130, 110]
    # the simulator's errors on its two rows; the repeat's own error against the first run (30 %: out of target)
    assert got["ttft_p50_error"].to_list() == pytest.approx([0.1, 0.3, 0.1])
    assert got["within_targets"].to_list() == [True, False, True]
    assert "secret-key" not in str(wh.read_table("replay_comparisons").to_dicts())
    lin = wh.lineage()
    assert lin["asset_key"].to_list() == ["replay_comparison"] and lin["partition_key"].to_list() == ["cmp-1"]
    with pytest.raises(ValueError, match="columns differ"):
        cmp.store(wh, "engine_calibrations", "cal-1", pl.DataFrame({"calibration_id": ["x"]}), asset="a", inputs={})
