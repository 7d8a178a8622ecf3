"""A small generated run directory shared by the page tests (made once per session by the real generator)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pages")
    subprocess.run([sys.executable, "-m", "agenttrace_pipeline.cli", "synthesize", "agentic-code", "--num-sessions", "80",
                    "--output", str(out), "--yes"], check=True, capture_output=True)
    (d,) = [p for p in out.iterdir() if p.is_dir()]
    return d
