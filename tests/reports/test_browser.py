"""The pages in headless Debian Chromium: they load cleanly, draw charts, react to controls, and their
numbers match Python's. Screenshots go to the pytest tmp dir and to /work/notes/screens/ when it exists."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from agenttrace_pipeline.reports import write_pages
from agenttrace_pipeline.reports.data import load_run
from agenttrace_pipeline.reports.simulation_page import reference_hit_rate, sample
from tests.browser import chromium, needs_chromium, screenshot

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def pages(run_dir: Path) -> Path:
    write_pages(run_dir)
    return run_dir


@pytest.fixture(scope="module")
def browser() -> Iterator:
    with chromium() as b:
        yield b


def _open(browser, path: Path):
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.as_uri())
    return page, errors


def _shot(page, tmp_path: Path, name: str) -> None:
    screenshot(page, tmp_path, name, full_page=True)


def test_report_draws_charts_and_matches_quality(browser, pages: Path, tmp_path: Path) -> None:
    page, errors = _open(browser, pages / "report.html")
    assert page.locator("svg polyline").count() >= 10  # 5 CDFs (+ laws), growth, reuse, layer curves
    quality = orjson.loads((pages / "quality.json").read_bytes())["observed_vs_target"]
    row = page.locator('[data-testid="quality-table"] tr', has_text="generation_length").first
    assert row.locator("td").nth(2).inner_text() == f"{quality['generation_length']['observed']['mean']:,.1f}"
    shown = float(page.get_by_test_id("theoretical-hit-rate").inner_text().rstrip("%")) / 100
    assert shown == pytest.approx(load_run(pages).infinite.hit_rate, abs=5e-5)
    _shot(page, tmp_path, "report.png")
    assert errors == []


def test_explorer_finds_any_session(browser, pages: Path, tmp_path: Path) -> None:
    page, errors = _open(browser, pages / "cache_explorer.html")
    w = load_run(pages).workload
    last = w.session_names[-1]
    page.fill("#q", last)
    page.click("#go")
    assert page.get_by_test_id("current").inner_text() == last
    turns = int(w.sess_first[-1] - w.sess_first[-2])
    assert page.locator("#turns tr").count() == turns
    assert page.locator("#map rect").count() >= turns
    page.fill("#q", "no-such-session")
    page.click("#go")
    assert page.locator("#msg").inner_text() == "no session matches"
    _shot(page, tmp_path, "cache_explorer.png")
    assert errors == []


SETTINGS = [
    dict(capacity=64, policy="lru"),
    dict(capacity=200, policy="fifo"),
    dict(capacity=96, policy="lru", replicas=3, routing="round-robin", conc=8),
    dict(capacity=128, policy="lru", replicas=4, routing="session-affinity", rate=20, conc=32),
    dict(capacity=160, policy="fifo", replicas=2, routing="prefix", rate=5, conc=4),
    dict(capacity=0, policy="infinite", conc=16),
]


def test_simulation_agrees_with_python(browser, pages: Path, tmp_path: Path) -> None:
    page, errors = _open(browser, pages / "simulation.html")
    assert page.locator("#sweep polyline").count() == 1
    before = page.get_by_test_id("hit-rate").inner_text()
    page.select_option("#policy", "fifo")
    page.locator("#capacity").fill("16")
    assert page.get_by_test_id("hit-rate").inner_text() != before
    prep = sample(load_run(pages))
    for s in SETTINGS:
        p = {"replicas": 1, "routing": "round-robin", "rate": 0, "conc": 1, **s}
        js = page.evaluate("p => agenttraceSimulate(p).hitRate", p)
        py = reference_hit_rate(prep, capacity=p["capacity"], policy=p["policy"], replicas=p["replicas"],
                                routing=p["routing"], rate=p["rate"], conc=p["conc"])
        assert js == pytest.approx(py, abs=0.01), p
    _shot(page, tmp_path, "simulation.png")
    assert errors == []
