"""A warehouse materialised by the real main job, built once per test session and shared read-only.

Two runs of ``agenttrace run`` on the bundled samples only (no ../shared/data, offline, so it behaves the
same on every machine): seed 42 from the fitted pooled profile (so the lineage reaches source files) and
seed 7 from the bundled default profile. ~25 s on two cores.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from filelock import FileLock

RUNS = (["--seed", "42", "--profile", "fitted_pooled_coding_agents", "--num-sessions", "60"],
        ["--seed", "7", "--num-sessions", "40"])


def environment(root: Path) -> dict[str, str]:
    """The variables that point agenttrace at the warehouse under ``root``."""
    return {"AGENTTRACE_WAREHOUSE": str(root / "wh" / "agenttrace.duckdb"), "AGENTTRACE_OUTPUT": str(root / "outputs"),
            "AGENTTRACE_CACHE": str(root / "cache"), "DAGSTER_HOME": str(root / "dagster_home"),
            "AGENTTRACE_OFFLINE": "1", "AGENTTRACE_PROFILES": str(root / "profiles"),
            "AGENTTRACE_SHARED_DATA": str(root / "no-shared-data")}


def materialised(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Build the shared warehouse if this session has not yet; returns its environment variables."""
    root = tmp_path_factory.getbasetemp() / "materialised-warehouse"
    env = environment(root)
    with FileLock(f"{root}.lock"):
        if not (root / "done").exists():
            (root / "dagster_home").mkdir(parents=True, exist_ok=True)
            (root / "dagster_home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
            for args in RUNS:
                proc = subprocess.run([sys.executable, "-m", "agenttrace_pipeline.cli", "run", *args],
                                      env=os.environ | env, capture_output=True, text=True, timeout=600)
                assert proc.returncode == 0, proc.stdout + proc.stderr
            (root / "done").write_text("ok\n")
    return env


def use(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Point this test's agenttrace at the shared warehouse."""
    monkeypatch.delenv("AGENTTRACE_LAKE", raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
