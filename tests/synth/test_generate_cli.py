"""`agenttrace synthesize agentic-code` end to end: run directory, manifest, quality, determinism, fidelity."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from agenttrace_pipeline.cli import app
from tests.synth.helpers import config, generate, rows

runner = CliRunner()


def synth(tmp: Path, *args: str):
    return runner.invoke(app, ["synthesize", "agentic-code", "--output", str(tmp), *args])


def only_run_dir(tmp: Path) -> Path:
    (d,) = [p for p in tmp.iterdir() if p.is_dir()]
    return d


def test_cli_writes_a_validated_run_directory_and_a_summary(tmp_path: Path):
    result = synth(tmp_path, "--num-sessions", "300", "--seed", "7")
    assert result.exit_code == 0, result.output
    run = only_run_dir(tmp_path)
    assert re.fullmatch(r"default_300s_seed7_\d{8}-\d{6}", run.name)
    assert sorted(p.name for p in run.iterdir()) == ["cache_explorer.html", "dataset.jsonl", "manifest.json", "quality.json",
                                                     "report.html", "simulation.html"]
    m = orjson.loads((run / "manifest.json").read_bytes())
    assert (m["seed"], m["sessions_requested"], m["config_name"]) == (7, 300, "default")
    assert m["sessions_emitted"] >= 300 and m["tool_version"] and m["cli_args"][:2] == ["synthesize", "agentic-code"]
    assert m["dataset_sha256"] == hashlib.sha256((run / "dataset.jsonl").read_bytes()).hexdigest()
    assert m["generation_params"]["max_prompt_tokens"] == 167000 and "mu" in m["derived"]["layer2"]
    q = orjson.loads((run / "quality.json").read_bytes())
    assert set(q) >= {"config_summary", "observed_vs_target", "session_stats", "session_end_stats"}
    obs = q["observed_vs_target"]["new_tokens_per_turn"]
    assert set(obs) == {"target_mean", "target_median", "observed", "pct_error_mean", "pct_error_median"}
    assert set(obs["observed"]) >= {"count", "mean", "std", "median", "p05", "p25", "p75", "p95", "p99"}
    assert "target vs observed" in result.stdout and "valid dataset:" in result.stdout


def test_same_seed_and_config_give_byte_identical_datasets(tmp_path: Path):
    a = generate(tmp_path, n=500, seed=11, name="a")
    b = generate(tmp_path, n=500, seed=11, name="b")
    c = generate(tmp_path, n=500, seed=12, name="c")
    assert a.dataset.read_bytes() == b.dataset.read_bytes()
    assert a.dataset.read_bytes() != c.dataset.read_bytes()


def test_a_manifest_reproduces_its_run(tmp_path: Path):
    assert synth(tmp_path / "one", "--num-sessions", "200", "--seed", "5").exit_code == 0
    first = only_run_dir(tmp_path / "one")
    again = synth(tmp_path / "two", "--num-sessions", "200", "--seed", "5", "--config", str(first / "manifest.json"))
    assert again.exit_code == 0, again.output
    assert (only_run_dir(tmp_path / "two") / "dataset.jsonl").read_bytes() == (first / "dataset.jsonl").read_bytes()


def test_max_isl_and_max_osl_overrides(tmp_path: Path):
    assert synth(tmp_path, "--num-sessions", "200", "--max-isl", "60000", "--max-osl", "300").exit_code == 0
    data = rows(only_run_dir(tmp_path) / "dataset.jsonl")
    assert max(r["output_length"] for r in data) <= 300
    cum: dict[str, int] = {}
    last_out: dict[str, int] = {}
    for r in data:
        s = r["session_id"]
        cum[s] = cum.get(s, 0) + last_out.get(s, 0) + r["input_length"]
        last_out[s] = r["output_length"]
        assert cum[s] < 60000


def test_bad_config_exits_1_naming_the_field(tmp_path: Path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"generation_length": {"mean": 10, "median": 50}}')
    result = synth(tmp_path, "--config", str(bad))
    assert result.exit_code == 1 and "generation_length" in result.output and "must be >= median" in result.output


def test_fidelity_at_5000_sessions_within_2_percent(tmp_path: Path):
    res = generate(tmp_path, n=5000, seed=42)
    targeted = {k: v for k, v in res.quality["observed_vs_target"].items() if v["target_mean"] is not None}
    assert set(targeted) == {"initial_context", "generation_length", "new_tokens_per_turn", "inter_turn_delay_ms"}
    for name, v in targeted.items():
        assert abs(v["pct_error_mean"]) <= 2.0, (name, v)
        assert abs(v["pct_error_median"]) <= 2.0, (name, v)


def test_calibration_removes_the_context_limit_bias_in_new_tokens(tmp_path: Path):
    # heavy-tailed new tokens: large draws overflow the context and are dropped, so accepted turns run low
    heavy = {"new_tokens_per_turn": {"mean": 9000, "median": 3000}, "max_prompt_tokens": 120000,
             "restart_initial_probability": 0}
    raw = generate(tmp_path, config(calibrate_new_tokens=False, **heavy), n=5000, name="raw")
    cal = generate(tmp_path, config(**heavy), n=5000, name="cal")
    q = lambda r, s: r.quality["observed_vs_target"]["new_tokens_per_turn"][f"pct_error_{s}"]  # noqa: E731
    assert q(raw, "mean") < -20 and q(raw, "median") < -5
    assert abs(q(cal, "mean")) < 3 and abs(q(cal, "median")) < 3
    assert cal.manifest["derived"]["new_tokens_per_turn_calibrated"]["sigma"] > cal.manifest["derived"]["new_tokens_per_turn"]["sigma"]


@pytest.mark.parametrize("n", [1, 7])
def test_tiny_runs_still_validate(tmp_path: Path, n: int):
    res = generate(tmp_path, config(restart_initial_probability=1.0), n=n)
    assert res.validation is not None and res.validation.valid
