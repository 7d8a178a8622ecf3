"""Streaming access to Mooncake trace files: gzip read transparently, lines capped, rows parsed strictly.

Both forms are read: FAST'25 single-turn rows (timestamp, input_length, output_length, cumulative
hash_ids) and multi-turn sessions (session_id; turn 0 with timestamp/group_id; later turns with delay
and incremental hash_ids; is_restart on a continuation's turn 0).

Memory stays flat whatever the file holds: it is read in blocks of whole lines, and a line longer than
``max_line_bytes`` is skipped (reported as :class:`LongLine`) instead of being gathered whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from agenttrace_pipeline import strict_json
from agenttrace_pipeline.trace.files import CorruptGzip, open_trace
from agenttrace_pipeline.trace.model import MAX_LINE_BYTES

__all__ = ["BadLine", "TraceReadError", "iter_blocks", "iter_lines", "iter_records", "iter_rows", "open_trace"]

CHUNK_BYTES = 4 << 20  # bytes read at a time


class TraceReadError(Exception):
    """A trace cannot be read or a row breaks the contract; names the file, line and field."""

    def __init__(self, path: str | Path, line: int, field: str, reason: str) -> None:
        self.path, self.line, self.field, self.reason = str(path), line, field, reason
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {field}: {reason}" if field else f"{where}: {reason}")


@dataclass(frozen=True, slots=True)
class Block:
    """Whole lines starting at line ``first_line``; only a file's last line may lack its newline.
    ``newlines`` is ``data.count(b"\\n")``, counted once for every reader of the block."""

    first_line: int
    data: bytes
    newlines: int


@dataclass(frozen=True, slots=True)
class LongLine:
    """Line ``line`` is longer than the cap (at least ``length`` bytes) and was skipped."""

    line: int
    length: int


@dataclass(frozen=True, slots=True)
class CrOnly:
    """Lines end in a bare CR (classic Mac line endings): there are no LF-separated lines to read."""

    line: int


def _looks_cr_only(data: bytes) -> bool:
    return b"}\r{" in data or b"}\r\r{" in data


def iter_blocks(fh: Any, max_line_bytes: int = MAX_LINE_BYTES, chunk_bytes: int = CHUNK_BYTES,
                ) -> Iterator[Block | LongLine | CrOnly]:
    """Read ``fh`` in blocks of whole lines; skip lines over ``max_line_bytes`` without keeping them.

    Lines inside one block may still exceed ``max_line_bytes`` when it is below ``chunk_bytes``: callers
    that set a small cap check each line themselves. A file whose lines end in bare CRs yields one
    :class:`CrOnly` and nothing more.
    """
    line_no, carry, skipped = 1, b"", -1  # skipped >= 0: inside an overlong line, bytes seen so far
    while block := fh.read(chunk_bytes):
        if skipped >= 0:
            nl = block.find(b"\n")
            if nl < 0:
                skipped += len(block)
                continue
            yield LongLine(line_no, skipped + nl)
            line_no, skipped, block = line_no + 1, -1, block[nl + 1:]
        data = carry + block if carry else block
        cut = data.rfind(b"\n") + 1
        data, carry = data[:cut], data[cut:]
        if data:
            newlines = data.count(b"\n")
            yield Block(line_no, data, newlines)
            line_no += newlines
        elif _looks_cr_only(carry):
            yield CrOnly(line_no)
            return
        if len(carry) > max_line_bytes:
            skipped, carry = len(carry), b""
    if skipped >= 0:
        yield LongLine(line_no, skipped)
    elif carry:
        yield Block(line_no, carry, 0)


def bad_line_reason(raw: bytes, exc: Exception, has_newline: bool) -> str:
    """Why a line that is not valid JSON fails, in the terms a user can act on."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as u:
        return f"not valid UTF-8 (byte 0x{raw[u.start]:02x} at column {u.start + 1})"
    if raw.startswith(b"\xef\xbb\xbf"):
        return "starts with a UTF-8 byte-order mark; save the file without a BOM"
    if b"\r" in raw.rstrip(b"\r"):
        return ("rows are separated by bare CR characters (CR-only line endings); save the file with LF "
                "(or CRLF) line endings")
    if not has_newline:
        return f"truncated last line: incomplete JSON and no newline at end of file ({exc})"
    return f"invalid JSON ({exc})"


def long_line_reason(length: int, max_line_bytes: int, exact: bool = False) -> str:
    size = f"{length:,} bytes" if exact else f"{length:,} bytes or more"
    return (f"line is longer than the {max_line_bytes:,}-byte limit ({size}); skipped without reading it whole "
            "(raise max_line_bytes if such rows are real)")


CR_ONLY_REASON = ("the file uses CR-only line endings (classic Mac): rows end in a bare CR, not LF; save it "
                  "with LF line endings (e.g. tr '\\r' '\\n')")


@dataclass(frozen=True, slots=True)
class BadLine:
    """A line (0: the file) that is not a row: ``field`` (often empty) and ``reason`` say why."""

    line: int
    field: str
    reason: str


def _lines(fh: Any, max_line_bytes: int) -> Iterator[tuple[int, bytes, bool] | BadLine]:
    """Lines of an open trace, and a :class:`BadLine` for an overlong line (skipped, reading goes on),
    for CR-only line endings or for damaged gzip data (both end the file)."""
    try:
        for ev in iter_blocks(fh, max_line_bytes):
            if isinstance(ev, LongLine):
                yield BadLine(ev.line, "", long_line_reason(ev.length, max_line_bytes))
                continue
            if isinstance(ev, CrOnly):
                yield BadLine(ev.line, "", CR_ONLY_REASON)
                return
            parts = ev.data.split(b"\n")
            last = parts.pop()  # b"" when the block ends with a newline
            for i, raw in enumerate(parts):
                if len(raw) > max_line_bytes:
                    yield BadLine(ev.first_line + i, "", long_line_reason(len(raw), max_line_bytes, exact=True))
                else:
                    yield ev.first_line + i, raw[:-1] if raw.endswith(b"\r") else raw, True
            if last:
                yield ev.first_line + len(parts), last, False
    except CorruptGzip as exc:
        yield BadLine(0, "", str(exc))


def iter_lines(source: str | Path | BinaryIO, max_line_bytes: int = MAX_LINE_BYTES,
               ) -> Iterator[tuple[int, bytes, bool]]:
    """Yield ``(line_no, raw_bytes_without_newline, ends_with_newline)`` for every line of ``source``.

    ``source`` is a path or an open binary stream (e.g. a pipe); gzip is decompressed. Raises ``OSError``
    when a path cannot be opened and :class:`TraceReadError` for an overlong line, CR-only line endings
    or damaged gzip data.
    """
    name = source if isinstance(source, (str, Path)) else getattr(source, "name", "<stream>")
    with open_trace(source) as fh:
        for item in _lines(fh, max_line_bytes):
            if isinstance(item, BadLine):
                raise TraceReadError(name, item.line, item.field, item.reason)
            yield item


def _parse_line(line_no: int, raw: bytes, has_newline: bool) -> dict[str, Any] | BadLine:
    try:
        row = strict_json.loads(raw)
    except strict_json.DuplicateKeyError as exc:
        return BadLine(line_no, exc.key, duplicate_key_reason(exc.key))
    except strict_json.JSONDecodeError as exc:
        return BadLine(line_no, "", bad_line_reason(raw, exc, has_newline))
    return row if isinstance(row, dict) else BadLine(line_no, "", "a row must be a JSON object")


def iter_records(path: str | Path, max_line_bytes: int = MAX_LINE_BYTES,
                 ) -> Iterator[tuple[int, dict[str, Any]] | BadLine]:
    """``(line_no, row)`` for each row and a :class:`BadLine` for each line that is not one, reading on
    past bad lines (an unreadable file, CR-only line endings or damaged gzip data end the file)."""
    try:
        with open_trace(path) as fh:
            for item in _lines(fh, max_line_bytes):
                if isinstance(item, BadLine):
                    yield item
                elif item[1].strip():
                    got = _parse_line(*item)
                    yield got if isinstance(got, BadLine) else (item[0], got)
    except OSError as exc:
        yield BadLine(0, "", f"cannot read file ({exc.strerror or exc})")


def iter_rows(path: str | Path, max_line_bytes: int = MAX_LINE_BYTES) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line_no, row)`` for each row; raise :class:`TraceReadError` on the first unreadable line.

    Only syntax is checked here (duplicate keys included); use
    :func:`agenttrace_pipeline.trace.validate_file` for the contract.
    """
    for rec in iter_records(path, max_line_bytes):
        if isinstance(rec, BadLine):
            raise TraceReadError(path, rec.line, rec.field, rec.reason)
        yield rec


def duplicate_key_reason(key: str) -> str:
    return (f"duplicate key {key!r}: JSON leaves a repeated key undefined (some readers keep the first value, "
            "others the last), so the row is ambiguous")
