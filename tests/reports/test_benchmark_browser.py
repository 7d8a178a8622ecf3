"""benchmark_report.html in headless Debian Chromium: it loads without console errors, draws its charts,
and its numbers are the warehouse's (recomputed here from the lake, not read back from the report's views).
The screenshot goes to the pytest tmp dir and to /work/notes/screens/ when that folder's parent exists."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from agenttrace_pipeline.store.warehouse import Warehouse
from tests.browser import chromium, needs_chromium, screenshot
from tests.materialised_warehouse import materialised, use

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def browser() -> Iterator:
    with chromium() as b:
        yield b


def _cell(page, testid: str, first: str, column: str) -> str:
    """The ``column`` cell of the first row of table ``testid`` whose first cell is ``first``."""
    tbl = page.get_by_test_id(testid)
    headers = [h.strip() for h in tbl.locator("thead th").all_inner_texts()]
    firsts = tbl.locator("tbody tr td:first-child").all_inner_texts()
    return tbl.locator("tbody tr").nth(firsts.index(first)).locator("td").nth(headers.index(column)).inner_text()


def test_report_draws_and_matches_the_warehouse(browser, tmp_path_factory, monkeypatch, tmp_path: Path) -> None:
    env = materialised(tmp_path_factory)
    use(env, monkeypatch)
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto((Path(env["AGENTTRACE_OUTPUT"]) / "reports" / "benchmark_report.html").as_uri())

    wh = Warehouse()
    sims = wh.read_table("cache_simulation").filter((pl.col("tier") == "all") & (pl.col("layer") == "all")
                                                    & pl.col("capacity_blocks").is_not_null())
    curves = sims.select("seed", "policy").unique().height
    assert page.get_by_test_id("hit-rate-curves").locator("polyline").count() >= curves + 2  # + 2 measured replays
    assert page.get_by_test_id("latency-chart").locator("rect").count() == 2

    runs = wh.read_table("replay_runs")
    served = runs.filter(pl.col("seed") == "42")["hit_rate_server_counters"].item()
    assert _cell(page, "hit-rates-table", "42", "served_server_counters") == f"{served:.2%}"
    req = wh.read_table("replay_requests").filter((pl.col("seed") == "7") & pl.col("error").is_null() & ~pl.col("warmup"))
    p99 = float(np.percentile(req["ttft_ms"].to_numpy(), 99))
    assert _cell(page, "latency-table", "7", "ttft_p99_ms").replace(",", "") == f"{p99:.1f}"

    fits = wh.read_table("distribution_fits").filter(pl.col("chosen") & (pl.col("source") == "mini_swe_agent_chat")
                                                     & (pl.col("quantity") == "output_tokens"))
    row = page.get_by_test_id("fits-table").locator("tbody tr", has_text="mini_swe_agent_chat").filter(has_text="output_tokens")
    assert f"{fits['ks_heldout'].item():,.3f}" in row.inner_text()

    assert page.get_by_test_id("comparisons").inner_text().startswith("none yet")
    page.get_by_test_id("lineage-42").locator("summary").click()
    raw = wh.lineage().filter(pl.col("asset_key") == "tracelab_rounds_raw").sort("materialized_at")[-1]
    shas = set(pl.Series(raw["input_fingerprints"]).str.json_decode().item().values())
    shown = set(page.get_by_test_id("lineage-files-42").locator("tbody tr", has_text="tracelab_rounds")
                .locator("td:nth-child(3)").all_inner_texts())
    assert shown == shas and page.get_by_test_id("lineage-files-42").is_visible()

    screenshot(page, tmp_path, "benchmark_report.png", full_page=True)
    assert errors == []
