"""One ``dagster dev`` (webserver + daemon) shared by every test in tests/ui: starting one costs ~30 s here."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.ui.server import DagsterServer, dagster_dev


@pytest.fixture(scope="session")
def dagster_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DagsterServer]:
    root = tmp_path_factory.mktemp("dagster_dev")
    with dagster_dev(root, root / "dagster_dev.log") as server:
        yield server
