"""Read a generated run directory once and compute what the three pages show.

A run directory holds ``dataset.jsonl``, ``manifest.json`` and ``quality.json`` (written by
``agenttrace synthesize``). The trace is read as a cache-simulation :class:`Workload`; the configured laws
come from the manifest's ``generation_params`` (:mod:`agenttrace_pipeline.synth.targets`), so each
observed distribution is drawn beside the law the generator was asked to follow.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import polars as pl

from agenttrace_pipeline.cachesim.report import RunResult
from agenttrace_pipeline.cachesim.simulate import Prepared, prepare, run_one
from agenttrace_pipeline.cachesim.stack_distance import LruCurve, lru_curve
from agenttrace_pipeline.cachesim.workload import Workload


class RunDirError(ValueError):
    """A run directory that cannot be turned into pages (names the file and what is wrong)."""


@dataclass(frozen=True)
class RunData:
    """One run directory, read: the workload, its block streams, the infinite-cache run and the LRU curve."""

    run_dir: Path
    manifest: dict[str, Any]
    quality: dict[str, Any]
    prep: Prepared
    is_restart: np.ndarray  # bool per session
    infinite: RunResult  # file order, infinite cache: hit tokens per request and per turn / layer
    curve: LruCurve

    @property
    def workload(self) -> Workload:
        return self.prep.workload

    @property
    def config_name(self) -> str:
        return str(self.manifest.get("config_name", "?"))


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise RunDirError(f"{path}: missing (is this a directory written by `agenttrace synthesize`?)")
    try:
        value = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise RunDirError(f"{path}: invalid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise RunDirError(f"{path}: expected a JSON object at the top level")
    return value


def load_run(run_dir: Path) -> RunData:
    """Read ``run_dir`` and run the infinite-cache simulation and the whole LRU curve (simple semantics)."""
    run_dir = Path(run_dir)
    manifest = _read_json(run_dir / "manifest.json")
    quality = _read_json(run_dir / "quality.json")
    dataset = run_dir / str(manifest.get("dataset_file", "dataset.jsonl"))
    if not dataset.is_file():
        raise RunDirError(f"{dataset}: missing (named by {run_dir / 'manifest.json'} field dataset_file)")
    prep = prepare(Workload.from_file(dataset), "simple")
    w = prep.workload
    flags = pl.read_ndjson(dataset, schema={"is_restart": pl.Boolean})["is_restart"].fill_null(False).to_numpy()
    inf = run_one(prep, policy="infinite", capacity=None, residency=False)
    return RunData(run_dir, manifest, quality, prep, flags[w.sess_first[:-1]].astype(bool), inf,
                   lru_curve(prep.streams))


def context_per_request(w: Workload) -> np.ndarray:
    """Prompt tokens of every request: the session's input lengths so far (cumulative context)."""
    csum = np.cumsum(w.input_len)
    start = w.sess_first[w.session]
    return csum - csum[start] + w.input_len[start]


def hit_blocks(data: RunData) -> np.ndarray:
    """Per request, how many leading prompt blocks the infinite cache held (from its hit tokens)."""
    s = data.prep.streams
    cum = np.zeros(s.blocks.size + 1, np.int64)
    np.cumsum(s.tokens[s.blocks], out=cum[1:])
    hit = data.infinite.per_request["hit_tokens"].astype(np.int64)
    return np.searchsorted(cum, cum[s.base] + hit, side="right") - 1 - s.base
