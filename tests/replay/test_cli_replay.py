"""`agenttrace replay` on the virtual clock: the summary is printed and written as JSON; the key stays secret."""

from __future__ import annotations

from pathlib import Path

import orjson
from typer.testing import CliRunner

from agenttrace_pipeline.cli import app

DATA = Path(__file__).parents[1] / "fixtures" / "replay" / "small_sessions.jsonl"


def test_replay_cli_prints_summary_and_keeps_key_out(tmp_path, monkeypatch):
    monkeypatch.setenv("SIM_KEY", "sekret-value")
    out = tmp_path / "r.json"
    res = CliRunner().invoke(app, ["replay", "-i", str(DATA), "--url", "virtual", "--model", "sim", "--kind", "sim",
                                   "--clock", "virtual", "--mode", "closed", "--concurrency", "1",
                                   "--capacity-blocks", "400", "--api-key-env", "SIM_KEY", "--json", str(out)])
    assert res.exit_code == 0, res.output
    assert "hit rate: simulator" in res.output and "ttft_ms" in res.output
    text = out.read_text()
    assert "sekret-value" not in text and "sekret-value" not in res.output
    assert orjson.loads(text)["summary"]["completed"] == 46


def test_replay_cli_rejects_a_missing_key_variable(monkeypatch):
    monkeypatch.delenv("NO_SUCH_KEY", raising=False)
    res = CliRunner().invoke(app, ["replay", "-i", str(DATA), "--url", "virtual", "--model", "sim",
                                   "--api-key-env", "NO_SUCH_KEY"])
    assert res.exit_code == 2 and "NO_SUCH_KEY" in res.output


def test_replay_cli_sender_priority_is_checked_and_reported():
    args = ["replay", "-i", str(DATA), "--url", "virtual", "--model", "sim", "--kind", "sim", "--clock", "virtual",
            "--mode", "closed", "--concurrency", "1"]
    bad = CliRunner().invoke(app, [*args, "--sender-priority", "urgent"])
    assert bad.exit_code == 2 and "sender_priority" in bad.output
    ok = CliRunner().invoke(app, [*args, "--sender-priority", "realtime"])
    assert ok.exit_code == 0, ok.output
    assert "sender priority normal" in ok.output  # the virtual clock sends nothing over the wire: no priority change


def test_replay_cli_names_an_unknown_prediction_preset_before_sending():
    res = CliRunner().invoke(app, ["replay", "-i", str(DATA), "--url", "http://127.0.0.1:9", "--model", "m",
                                   "--predict-engine", "no-such-preset"])
    assert res.exit_code == 2
    assert "unknown engine preset 'no-such-preset'" in res.output and "cpu-vllm-tiny" in res.output
