"""The generator's distribution check: what every sampler drew follows its configured law, and the quality
targets come from that law, not from the sampler."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from agenttrace_pipeline.cli import app
from agenttrace_pipeline.synth.checks import quality_problems
from agenttrace_pipeline.synth.config import load_config
from tests.conftest import FIXTURES
from tests.synth.helpers import config, generate, rows

P = np.linspace(0, 1, 201)
TABLE_21_PCT_AT_1 = np.where(P <= 0.21, 1.0, np.interp(P, [0.21, 0.5, 1.0], [1.0, 224.5, 600.0])).tolist()


@pytest.mark.parametrize("cfg", [
    pytest.param(lambda: config(), id="default-with-restarts"),
    pytest.param(lambda: load_config("fitted_mini_swe_agent_chat")[1], id="fitted-profile-explicit-turns"),
    pytest.param(lambda: config(arrival={"process": "poisson", "rate_per_s": 2.0},
                                inter_turn_delay={"agentic_fraction": 0.4, "max": 30000}), id="poisson-capped-delay"),
    pytest.param(lambda: config(arrival={"process": "trace", "trace": str(FIXTURES.parent.parent / "assets_config" /
                                                                        "samples" / "mooncake_sample.jsonl")}),
                 id="trace-arrivals"),
])
def test_every_quantity_follows_its_law(tmp_path: Path, cfg):
    res = generate(tmp_path, cfg(), n=600)
    checks = res.quality["distribution_checks"]
    assert {"layer2", "new_tokens_per_turn", "generation_length", "inter_turn_delay_ms"} <= set(checks)
    for name, c in checks.items():
        assert c["passed"] and 0 < c["tested"] <= c["drawn"], (name, c)


def test_mass_at_the_bound_reaches_the_dataset_and_its_target(tmp_path: Path):
    cfg = config(generation_length={"family": "empirical", "quantiles": TABLE_21_PCT_AT_1, "min": 1},
                 restart_initial_probability=0)
    res = generate(tmp_path, cfg, n=400)
    outputs = np.array([r["output_length"] for r in rows(res.dataset)])
    assert abs((outputs == 1).mean() - 0.21) < 0.03 and abs(np.median(outputs) - 224) <= 6
    assert res.quality["observed_vs_target"]["generation_length"]["target_median"] == 224
    assert not quality_problems(res.quality)


def test_a_sampler_defect_fails_the_check_and_the_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import agenttrace_pipeline.synth.distributions as distributions

    real = distributions._table_cdf
    monkeypatch.setattr(distributions, "_table_cdf", lambda q, x, left: real(q, x, False))  # issue 8's defect
    cfg = config(generation_length={"family": "empirical", "quantiles": TABLE_21_PCT_AT_1, "min": 1})
    res = generate(tmp_path, cfg, n=300)
    check = res.quality["distribution_checks"]["generation_length"]
    assert not check["passed"] and check["ks"] > 0.15
    target = res.quality["observed_vs_target"]["generation_length"]
    assert target["target_median"] == 224 and target["observed"]["median"] > 300  # the target did not follow
    assert any(p.startswith("generation_length median") for p in quality_problems(res.quality))
    profile = tmp_path / "table.json"
    profile.write_text(json.dumps({"generation_length": {"family": "empirical", "quantiles": TABLE_21_PCT_AT_1,
                                                         "min": 1}}))
    result = CliRunner().invoke(app, ["synthesize", "agentic-code", "--output", str(tmp_path / "cli"),
                                      "--num-sessions", "200", "--config", str(profile)])
    assert result.exit_code == 1 and "distribution check failed: generation_length: KS" in result.output


def test_targets_are_the_laws_own_mean_and_median(tmp_path: Path):
    cfg = config(inter_turn_delay={"agentic_fraction": 1.0, "agentic_delay": {"mean": 2500, "median": 1800}},
                 restart_initial_probability=0)
    res = generate(tmp_path, cfg, n=50)
    t = res.quality["observed_vs_target"]["inter_turn_delay_ms"]
    assert t["target_mean"] == pytest.approx(2500, rel=1e-4) and t["target_median"] == pytest.approx(1800, rel=1e-6)
