"""Headless Debian Chromium for the page and UI tests: where it is, a skip mark when it is missing, a browser
launched through Playwright (never a browser download), and screenshots kept for a person to look at."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
SCREENS = Path("/work/notes/screens")  # screenshots are copied here when its parent exists (a developer machine)
needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium not installed at /usr/bin/chromium")


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium (Playwright's sync API), closed on exit."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM))
        try:
            yield b
        finally:
            b.close()


def screenshot(page: Any, folder: Path, name: str, *, full_page: bool = False) -> Path:
    """Save ``page`` as ``folder/name`` and keep a copy in :data:`SCREENS` when that folder can exist."""
    path = folder / name
    page.screenshot(path=str(path), full_page=full_page)
    if SCREENS.parent.is_dir():
        SCREENS.mkdir(exist_ok=True)
        shutil.copy(path, SCREENS / name)
    return path
