"""``benchmark_report.html``: every stage of the warehouse joined in one offline page (no Dagster here).

:func:`build_report` reads the lake through the views of :mod:`~agenttrace_pipeline.reports.benchmark_data`,
renders :mod:`~agenttrace_pipeline.reports.benchmark_page` and writes the page atomically. The
``benchmark_report`` asset and ``agenttrace report`` both call it; :func:`key_tables` gives the Markdown
tables the asset shows in the UI.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from agenttrace_pipeline import settings
from agenttrace_pipeline.redact import md_table
from agenttrace_pipeline.reports.benchmark_data import BenchmarkData, load
from agenttrace_pipeline.reports.benchmark_page import num, pct, render
from agenttrace_pipeline.store.atomic import atomic_writer
from agenttrace_pipeline.store.warehouse import Warehouse

REPORT_NAME = "benchmark_report.html"


def default_path() -> Path:
    """``<output>/reports/benchmark_report.html`` (AGENTTRACE_OUTPUT moves it)."""
    return settings.output_root() / "reports" / REPORT_NAME


@dataclass(frozen=True)
class BenchmarkReport:
    """The written page (``path``, its ``sha256`` and size), the data it shows, and how long it took."""

    path: Path
    sha256: str
    bytes: int
    seconds: float
    data: BenchmarkData


def build_report(wh: Warehouse | None = None, path: Path | None = None,
                 checks: pl.DataFrame | None = None) -> BenchmarkReport:
    """Read ``wh`` (default: the settings' warehouse) and write the report to ``path`` (default
    :func:`default_path`); the page is replaced atomically, so a reader never sees half of it. ``checks``:
    check verdicts to show instead of the warehouse's ``check_results`` (the asset passes the ones it is
    about to write)."""
    start = time.perf_counter()
    wh = wh or Warehouse()
    path = path or default_path()
    data = load(wh)
    if checks is not None:
        data.checks = checks if checks.height else None
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    html = render(data, f"lake {wh.store.url} · {stamp}").encode()
    with atomic_writer(path) as fh:
        fh.write(html)
    return BenchmarkReport(path, fh.sha256, len(html), time.perf_counter() - start, data)


def _rows(df: pl.DataFrame, columns: list[str], fmt: dict) -> list[list[str]]:
    return [[fmt.get(c, num)(r[c]) for c in columns] for r in df.head(20).iter_rows(named=True)]


def key_tables(data: BenchmarkData) -> dict[str, str]:
    """The report's key tables as Markdown (first 20 rows each): hit rates, latency, fidelity, comparisons."""
    hit_cols = ["seed", "profile", "endpoint_name", "simulated_infinite_cache", "served_server_counters",
                "served_usage", "real_hit_rate"]
    lat_cols = ["seed", "endpoint_name", "requests", "ttft_p50_ms", "ttft_p99_ms", "e2e_p99_ms"]
    fit_cols = ["profile", "quantity", "ks_profile", "target", "ks_heldout", "heldout_target", "passes"]
    ms = {c: (lambda v: num(v, 1)) for c in lat_cols[3:]}
    out = {"hit_rates": md_table(hit_cols, _rows(data["hit_rates"], hit_cols, dict.fromkeys(hit_cols[3:], pct))),
           "latency": md_table(lat_cols, _rows(data["latency"], lat_cols, ms)),
           "fidelity": md_table(fit_cols, _rows(data["roundtrip"], fit_cols, {}))}
    comp = data.comparisons
    out["comparisons"] = "none yet" if comp is None else md_table(comp.columns, _rows(comp, comp.columns, {}))
    return out
