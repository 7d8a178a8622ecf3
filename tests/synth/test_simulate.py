"""The pure simulation API, and datasets that do not depend on how they were batched."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from agenttrace_pipeline.synth.simulate import STREAM_BLOCK, simulate
from tests.synth.helpers import config, generate


def test_simulate_yields_numpy_sessions_and_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    cfg = config()
    batches = list(simulate(cfg, 1500, seed=3, batch_size=400))
    assert [b.n for b in batches] == [400, 400, 400, 300] and [b.first for b in batches] == [0, 400, 800, 1200]
    assert list(tmp_path.iterdir()) == []
    for b in batches:
        assert isinstance(b.primaries.new, np.ndarray) and b.primaries.row_start[-1] == b.primaries.new.size
        assert ((b.origin >= b.first) & (b.origin < b.first + b.n)).all()  # a continuation travels with its A
        assert (b.placement >= b.origin).all() and b.continuations.n == b.origin.size
    rows = sum(int(b.primaries.turns.sum() + b.continuations.turns.sum()) for b in batches)
    assert rows == generate(tmp_path, cfg, n=1500, seed=3).rows


def test_the_dataset_does_not_depend_on_the_batch_size(tmp_path: Path):
    n = STREAM_BLOCK + 900  # two stream blocks, cut differently by each batch size
    runs = [generate(tmp_path, n=n, seed=9, name=f"b{size}", batch_size=size) for size in (333, STREAM_BLOCK, 20_000)]
    data = [r.dataset.read_bytes() for r in runs]
    assert data[0] == data[1] == data[2]
