"""Streaming access to Mooncake trace files, one line at a time, with line numbers.

Both forms are read: FAST'25 single-turn rows (timestamp, input_length, output_length, cumulative
hash_ids) and multi-turn sessions (session_id; turn 0 with timestamp/group_id; later turns with delay
and incremental hash_ids; is_restart on a continuation's turn 0).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import orjson


class TraceReadError(Exception):
    """A trace cannot be read or a row breaks the contract; names the file, line and field."""

    def __init__(self, path: str | Path, line: int, field: str, reason: str) -> None:
        self.path, self.line, self.field, self.reason = str(path), line, field, reason
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {field}: {reason}" if field else f"{where}: {reason}")


def iter_lines(source: str | Path | BinaryIO) -> Iterator[tuple[int, bytes, bool]]:
    """Yield ``(line_no, raw_bytes_without_newline, ends_with_newline)`` for every line of ``source``.

    ``source`` is a path or an open binary stream (e.g. a pipe). Raises ``OSError`` when a path cannot be
    opened; reading is buffered and never loads the whole file.
    """
    if isinstance(source, (str, Path)):
        with open(source, "rb", buffering=1 << 20) as fh:
            yield from iter_lines(fh)
        return
    for line_no, raw in enumerate(source, start=1):
        if raw.endswith(b"\n"):
            yield line_no, raw[:-2] if raw.endswith(b"\r\n") else raw[:-1], True
        else:
            yield line_no, raw, False


def iter_rows(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line_no, row)`` for each row; raise :class:`TraceReadError` on the first unparsable line.

    Only syntax is checked here; use :func:`agenttrace_pipeline.trace.validate_file` for the contract.
    """
    try:
        for line_no, raw, _ in iter_lines(path):
            if not raw.strip():
                continue
            try:
                row = orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                raise TraceReadError(path, line_no, "", f"invalid JSON ({exc})") from None
            if not isinstance(row, dict):
                raise TraceReadError(path, line_no, "", "a row must be a JSON object")
            yield line_no, row
    except OSError as exc:
        raise TraceReadError(path, 0, "", f"cannot read file ({exc.strerror or exc})") from None
