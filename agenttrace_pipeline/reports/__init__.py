"""Offline pages for a generated dataset: ``report.html``, ``cache_explorer.html`` and ``simulation.html``.

:func:`write_pages` reads a run directory once and writes the three self-contained pages beside its
``dataset.jsonl``. Pure Python (no Dagster); the pages need no network.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

PAGES = ("report.html", "cache_explorer.html", "simulation.html")


@dataclass(frozen=True)
class PagesResult:
    paths: list[Path]
    seconds: float
    bytes: int


def write_pages(run_dir: Path, *, progress: Callable[[str], None] | None = None) -> PagesResult:
    """Write the three pages into ``run_dir`` (which holds dataset.jsonl, manifest.json, quality.json).

    ``progress(step)`` is called before each step. Raises :class:`~agenttrace_pipeline.reports.data.RunDirError`
    naming the file when the directory is incomplete, and ``TraceReadError`` for a bad dataset row.
    """
    from agenttrace_pipeline.reports import explorer_page, report_page, simulation_page
    from agenttrace_pipeline.reports.data import load_run
    from agenttrace_pipeline.store.atomic import atomic_writer

    t0 = time.perf_counter()
    run_dir = Path(run_dir)
    if progress:
        progress("reading the dataset")
    data = load_run(run_dir)
    paths, total = [], 0
    for name, render in zip(PAGES, (report_page.render, explorer_page.render, simulation_page.render), strict=True):
        if progress:
            progress(f"writing {name}")
        text = render(data).encode()
        with atomic_writer(run_dir / name) as fh:  # a reader never sees half a page
            fh.write(text)
        paths.append(run_dir / name)
        total += len(text)
    return PagesResult(paths, time.perf_counter() - t0, total)
