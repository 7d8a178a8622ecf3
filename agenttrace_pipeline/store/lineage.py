"""Lineage records (one per materialisation) and the content fingerprints they hold."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import orjson
import polars as pl

from agenttrace_pipeline.store.tables import LINEAGE_COLUMNS


@dataclass(frozen=True, slots=True)
class LineageRecord:
    asset_key: str
    partition_key: str | None
    run_id: str
    code_version: str
    input_fingerprints: Mapping[str, str]
    output_fingerprint: str
    row_count: int
    output_paths: list[str] = field(default_factory=list)
    materialized_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def frame(self) -> pl.DataFrame:
        return pl.DataFrame([{
            "asset_key": self.asset_key, "partition_key": self.partition_key, "run_id": self.run_id,
            "code_version": self.code_version,
            "input_fingerprints": orjson.dumps(dict(self.input_fingerprints), option=orjson.OPT_SORT_KEYS).decode(),
            "output_fingerprint": self.output_fingerprint, "row_count": self.row_count,
            "output_paths": orjson.dumps(sorted(self.output_paths)).decode(), "materialized_at": self.materialized_at,
        }], schema=LINEAGE_COLUMNS)


def combined_fingerprint(shas: Mapping[str, str] | list[str]) -> str:
    """One sha256 over several named digests (order-independent for mappings)."""
    items = sorted(shas.items()) if isinstance(shas, Mapping) else [(str(i), s) for i, s in enumerate(shas)]
    return hashlib.sha256(orjson.dumps(items)).hexdigest()


def frame_fingerprint(df: pl.DataFrame) -> str:
    """sha256 of a frame's content (column names, types and every row), independent of its file encoding."""
    sha = hashlib.sha256(orjson.dumps([[c, str(t)] for c, t in df.schema.items()]))
    if df.height:
        sha.update(df.hash_rows(seed=0).to_numpy().tobytes())
    return sha.hexdigest()
