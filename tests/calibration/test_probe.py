"""The mixed prefill/decode probe (scripts/mixed_steps.py) through its script, against serve-sim with a preset."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import polars as pl

from agenttrace_pipeline.cachesim.cost_model import PRESET_DIR

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "mixed_steps.py"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=300, cwd=ROOT)


def test_arrivals_hold_up_the_decoding_batch_in_the_simulated_engine(tmp_path: Path) -> None:
    out = tmp_path / "probe.parquet"
    r = _run("--sim", str(PRESET_DIR / "cpu-vllm-tiny.json"), "--batches", "2", "--periods", "none,25", "--context", "512",
             "--new-tokens", "1024", "--decode-tokens", "40", "--repeats", "1", "--out", str(out))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split()[:2] == ["batch", "period"] and lines[1].split()[:2] == ["2", "none"]
    df = pl.read_parquet(out).sort("period_ms", nulls_last=False)
    assert df["errors"].to_list() == [0, 0]
    alone, mixed = df.row(0, named=True), df.row(1, named=True)
    assert alone["arrivals"] == 0 and alone["arrival_ttft_ms"] is None
    assert mixed["arrivals"] >= 2 and mixed["arrival_ttft_ms"] > 0
    # a 1,024-token prefill every 25 ms takes steps the batch would have decoded in
    assert mixed["background_tpot_ms"] > 1.3 * alone["background_tpot_ms"], df


def test_an_unreachable_server_fails_with_the_reason(tmp_path: Path) -> None:
    r = _run("--url", "http://127.0.0.1:9", "--model", "x", "--batches", "1", "--periods", "none", "--repeats", "1")
    assert r.returncode == 2 and "probe failed: no probe request to http://127.0.0.1:9" in r.stderr
    bad = _run("--url", "http://127.0.0.1:9", "--periods", "0")
    assert bad.returncode == 2 and "arrival periods must be > 0 ms" in bad.stderr
