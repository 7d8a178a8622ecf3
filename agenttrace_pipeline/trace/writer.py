"""Write Mooncake rows as compact JSONL in the contract's key order, atomically."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from agenttrace_pipeline.store.atomic import atomic_writer
from agenttrace_pipeline.trace.model import KEY_ORDER


@dataclass(frozen=True, slots=True)
class WrittenFile:
    path: Path
    rows: int
    bytes: int
    sha256: str


def encode_row(row: Mapping[str, Any]) -> bytes:
    """One row as compact JSON plus ``\\n``: contract keys first in :data:`KEY_ORDER`, unknown keys after.

    Absent and ``None`` values are left out, so a turn-0 row has no ``delay`` and a later turn no ``timestamp``.
    """
    ordered = {k: row[k] for k in KEY_ORDER if row.get(k) is not None}
    for k, v in row.items():
        if k not in ordered and k not in KEY_ORDER and v is not None:
            ordered[k] = v
    return orjson.dumps(ordered, option=orjson.OPT_APPEND_NEWLINE)


def write_rows(path: str | Path, rows: Iterable[Mapping[str, Any]]) -> WrittenFile:
    """Write ``rows`` to ``path`` (replacing it atomically) and return its row count, size and sha256."""
    n = 0
    with atomic_writer(path) as out:
        buf: list[bytes] = []
        for row in rows:
            buf.append(encode_row(row))
            n += 1
            if len(buf) >= 4096:
                out.write(b"".join(buf))
                buf.clear()
        out.write(b"".join(buf))
    return WrittenFile(Path(path), n, out.bytes_written, out.sha256)
