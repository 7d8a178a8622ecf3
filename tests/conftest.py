"""Shared fixtures: an isolated warehouse / Dagster home per test, and the real data in ../shared/data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agenttrace_pipeline import settings

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(autouse=True)
def _sources_file_env_restored():
    """``agenttrace run --sources FILE`` sets AGENTTRACE_SOURCES for its process; a test that runs the CLI in
    process must not hand that file to every later test (and to the subprocesses they start)."""
    before = os.environ.get("AGENTTRACE_SOURCES")
    yield
    if before is None:
        os.environ.pop("AGENTTRACE_SOURCES", None)
    else:
        os.environ["AGENTTRACE_SOURCES"] = before


@pytest.fixture
def shared_data() -> Path:
    """../shared/data; tests that need it skip only when it is absent or empty (a user's machine)."""
    path = settings.shared_data()
    if not path.is_dir() or not any(path.iterdir()):
        pytest.skip(f"real trace data not present at {path}")
    return path


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the warehouse, outputs, download cache and DAGSTER_HOME at a temporary folder."""
    monkeypatch.setenv("AGENTTRACE_WAREHOUSE", str(tmp_path / "wh" / "agenttrace.duckdb"))
    monkeypatch.delenv("AGENTTRACE_LAKE", raising=False)
    monkeypatch.setenv("AGENTTRACE_OUTPUT", str(tmp_path / "outputs"))
    monkeypatch.setenv("AGENTTRACE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    monkeypatch.setenv("AGENTTRACE_OFFLINE", "1")  # tests never reach for the network
    monkeypatch.setenv("AGENTTRACE_PROFILES", str(tmp_path / "profiles"))
    (tmp_path / "dagster_home").mkdir()
    (tmp_path / "dagster_home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    return tmp_path
