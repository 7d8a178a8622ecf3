"""`agenttrace calibrate` against the simulated engine: the sweep runs, and the fitted preset predicts the
engine it measured (the simulated engine's own cost model is the truth here)."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from agenttrace_pipeline.cachesim.cost_model import EngineCost, load_engine
from agenttrace_pipeline.cli import app
from agenttrace_pipeline.simserver.config import SimConfig
from agenttrace_pipeline.simserver.serve import running_sim

TRUTH = EngineCost(name="truth", pf2=0.0, pf1=0.05, pf0=4.0, dc2=0.0, dc1=0.0, dc0=8.0, dc_batch=1.0, floor_ms=0.1)


def test_calibrate_fits_the_engine_it_measured(tmp_path: Path) -> None:
    preset = tmp_path / "truth.json"
    preset.write_bytes(orjson.dumps(TRUTH.to_dict()))
    out = tmp_path / "out" / "fitted.json"
    with running_sim(SimConfig(engine=str(preset), capacity_blocks=4096, block_tokens=16)) as h:
        r = CliRunner().invoke(app, ["calibrate", "--url", h.url, "--model", h.model, "--name", "fitted",
                                     "--output", str(out), "--prompt-sizes", "64,1024,4096", "--repeats", "3",
                                     "--concurrency", "1,8", "--output-lengths", "8", "--decode-tokens", "24",
                                     "--capacity-blocks", "4096", "--block-tokens", "16", "--max-batch-tokens", "8192"])
    assert r.exit_code == 0, r.output
    assert "preset written" in r.output and "R²" in r.output
    fit = load_engine(out)
    assert fit.calibrated and fit.name == "fitted"
    # the HTTP round trip adds to every request (several ms on a busy shared CPU, absorbed into pf0), so the
    # prefill check is on the cost per token: 4,032 more uncached tokens cost what the truth says they cost
    grow = float(fit.prefill_ms(4096) - fit.prefill_ms(64))
    assert grow == pytest.approx(float(TRUTH.prefill_ms(4096) - TRUTH.prefill_ms(64)), rel=0.4)
    assert float(fit.decode_ms(1, 0.0)) == pytest.approx(float(TRUTH.decode_ms(1, 0.0)), rel=0.4)
    assert float(fit.decode_ms(8, 0.02)) > float(fit.decode_ms(1, 0.0))  # a wider batch steps slower
    assert (out.parent / "fits" / "fitted.samples.parquet").is_file()


def test_calibrate_matches_a_replay_by_simulation(tmp_path: Path) -> None:
    """With a replay's records and its dataset, the sweep's preset is matched to that replay: here the records come
    from the same engine with slower steps and 12 ms per request outside them (an engine under load)."""
    from agenttrace_pipeline.calibration.loop import replay_options
    from agenttrace_pipeline.calibration.refine import scaled, simulate
    from agenttrace_pipeline.calibration.workloads import make_dataset

    truth = tmp_path / "truth.json"
    truth.write_bytes(orjson.dumps(TRUTH.to_dict()))
    ds = make_dataset("cpu-agent", sessions=12, seed=5, root=tmp_path / "data")
    geo = {"block_tokens": 16, "capacity_blocks": 4096, "max_seqs": 256, "max_batch_tokens": 8192}
    loaded = scaled(TRUTH, 1.5, 1.5, 12.0)
    simulate(ds, loaded, options=replay_options(), **geo).write_parquet(tmp_path / "replay.parquet")
    out = tmp_path / "out" / "matched.json"
    with running_sim(SimConfig(engine=str(truth), capacity_blocks=4096, block_tokens=16)) as h:
        r = CliRunner().invoke(app, ["calibrate", "--url", h.url, "--model", h.model, "--name", "matched",
                                     "--output", str(out), "--prompt-sizes", "64,1024,4096", "--repeats", "3",
                                     "--concurrency", "1,8", "--output-lengths", "8", "--decode-tokens", "24",
                                     "--capacity-blocks", "4096", "--block-tokens", "16", "--max-batch-tokens", "8192",
                                     "--replay-requests", str(tmp_path / "replay.parquet"), "--replay-dataset", str(ds)])
    assert r.exit_code == 0, r.output
    assert "matched to the replay" in r.output
    report = orjson.loads((out.parent / "fits" / "matched.fit.json").read_bytes())["replay"]
    assert max(abs(v) for v in report["error_after"].values()) < 0.1
    assert max(abs(v) for v in report["error_before"].values()) > 0.2
    # (the knobs themselves are not checked: the HTTP round trip of this busy machine is in the sweep's request
    # time, and a slower prefill and a longer request time both lengthen TTFT)
    assert "matched to a measured replay" in load_engine(out).source


@pytest.mark.parametrize(("args", "message"), [
    (["--name", "ok", "--replay-dataset", "dataset.jsonl"], "go together"),
    (["--name", "bad name"], "--name"),
    (["--name", "ok", "--concurrency", "1,x"], "--concurrency"),
    (["--name", "ok", "--api-key-env", "AGENTTRACE_TEST_NO_SUCH_VAR"], "AGENTTRACE_TEST_NO_SUCH_VAR"),
])
def test_calibrate_rejects_bad_arguments(args: list[str], message: str) -> None:
    r = CliRunner().invoke(app, ["calibrate", "--url", "http://127.0.0.1:9", "--model", "m", *args])
    assert r.exit_code != 0 and message in r.output


def test_calibrate_against_nothing_says_so(tmp_path: Path) -> None:
    r = CliRunner().invoke(app, ["calibrate", "--url", "http://127.0.0.1:9", "--model", "m", "--name", "x",
                                 "--capacity-blocks", "8", "--block-tokens", "16", "--prompt-sizes", "32",
                                 "--concurrency", "1", "--output-lengths", "4", "--repeats", "1",
                                 "--output", str(tmp_path / "x.json")])
    assert r.exit_code != 0 and "failed" in r.output and "connect" in r.output
