"""The Dagster UI in headless Debian Chromium (never a downloaded browser): the asset graph shows the fits
group's generator_profiles wired into synthesis' synthetic_dataset, the seed partitions, and a check result.
Screenshots go to the pytest tmp dir and to /work/notes/screens/ when it exists."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser import chromium, needs_chromium, screenshot
from tests.ui.server import DagsterServer

SEEDS = ["21", "22"]
_EDGE = r"/^M[\d.-]+,[\d.-]+C/"  # a JavaScript regex for an edge's path
pytestmark = [pytest.mark.slow, needs_chromium]


@pytest.fixture(scope="module")
def materialized(dagster_server: DagsterServer) -> DagsterServer:
    """Seeds 21-22 generated (with their checks) into the server's instance by `agenttrace backfill`."""
    subprocess.run([sys.executable, "-m", "agenttrace_pipeline.cli", "backfill", "21-22", "--num-sessions", "100"],
                   env=dagster_server.env, check=True, capture_output=True, timeout=300)
    return dagster_server


@pytest.fixture(scope="module")
def page(materialized: DagsterServer) -> Iterator:
    with chromium() as browser:
        pg = browser.new_page(viewport={"width": 1400, "height": 900})
        pg.goto(materialized.url + "/assets/synthetic_dataset")
        skip = pg.get_by_role("button", name="Skip")  # Dagster's one-time "join the community" dialog
        skip.click(timeout=30_000)
        yield pg


def _shot(page, tmp_path: Path, name: str) -> None:
    screenshot(page, tmp_path, name)


def _box(locator) -> dict:
    locator.wait_for(timeout=30_000)
    box = locator.bounding_box()
    assert box is not None
    return box


def test_asset_graph_connects_fits_to_synthesis(page, materialized: DagsterServer, tmp_path: Path):
    page.goto(materialized.url + "/assets/synthetic_dataset?view=lineage&lineageScope=upstream&lineageDepth=1")
    source = _box(page.get_by_text("generator_profiles", exact=True).last)
    target = _box(page.get_by_text("synthetic_dataset", exact=True).last)
    for group in ("fits", "synthesis"):
        assert page.get_by_text(group, exact=True).first.is_visible()
    # the edges are SVG curves ("M x,y C …"); one of them runs from the profile's node to the dataset's
    page.wait_for_function(f"() => Array.from(document.querySelectorAll('svg path')).some(p => {_EDGE}.test(p.getAttribute('d') || ''))",
                           timeout=30_000)
    spans = page.evaluate(f"""() => Array.from(document.querySelectorAll('svg path'))
        .filter(p => {_EDGE}.test(p.getAttribute('d') || ''))
        .map(p => {{ const r = p.getBoundingClientRect(); return {{x: r.x, y: r.y, width: r.width}}; }})""")
    assert any(source["x"] + source["width"] < b["x"] and b["x"] + b["width"] < target["x"]
               and abs(b["y"] - source["y"]) < 200 for b in spans), (source, target, spans)
    # a check result on the graph node (5 / 5 passed for the seeds generated above)
    page.get_by_text(re.compile(r"^\d+ / \d+ Passed$")).first.wait_for(timeout=30_000)
    _shot(page, tmp_path, "dagster_lineage.png")


def test_seed_partitions_are_listed_with_their_state(page, materialized: DagsterServer, tmp_path: Path):
    page.goto(materialized.url + "/assets/synthetic_dataset?view=partitions")
    materialized_count = page.get_by_text(re.compile(r"^Materialized \(\d+\)$"))
    materialized_count.wait_for(timeout=30_000)
    assert int(re.findall(r"\d+", materialized_count.inner_text())[0]) >= len(SEEDS)
    for seed in SEEDS:
        assert page.get_by_text(seed, exact=True).first.is_visible()
    _shot(page, tmp_path, "dagster_partitions.png")


def test_a_check_result_is_shown(page, materialized: DagsterServer, tmp_path: Path):
    page.goto(materialized.url + "/assets/synthetic_dataset?view=checks")
    row = page.get_by_role("row").filter(has_text="quality_within_tolerance")
    if not row.count():  # the checks list is not a table in every Dagster release: fall back to its text
        row = page.get_by_text("quality_within_tolerance", exact=True).first.locator("xpath=../..")
    row.first.wait_for(timeout=30_000)
    assert "Succeeded" in row.first.inner_text()
    page.get_by_text("quality_within_tolerance", exact=True).first.click()
    page.get_by_text("Passed", exact=True).first.wait_for(timeout=30_000)
    for seed in SEEDS:  # the check's metadata has a line per seed of the run
        assert page.get_by_text(seed, exact=True).first.is_visible()
    _shot(page, tmp_path, "dagster_checks.png")
