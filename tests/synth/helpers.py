"""Small helpers for generator tests: run the generator and read what it wrote."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from agenttrace_pipeline.synth.config import SessionDistributionConfig, load_config, parse_config
from agenttrace_pipeline.synth.generate import SynthesisResult, synthesize


def config(**overrides: Any) -> SessionDistributionConfig:
    _, base = load_config("default")
    return parse_config({**base.to_json_dict(), **overrides})


def generate(tmp: Path, cfg: SessionDistributionConfig | None = None, n: int = 300, seed: int = 1,
             name: str = "run", **kw: Any) -> SynthesisResult:
    return synthesize(cfg or config(), num_sessions=n, seed=seed, output_root=tmp, run_name=name,
                      collect_sessions=True, **kw)


def rows(path: Path) -> list[dict]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def sessions(path: Path) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for r in rows(path):
        out.setdefault(r["session_id"], []).append(r)
    return out
