"""Streaming access to Mooncake trace files: gzip read transparently, lines capped, rows parsed strictly.

Both forms are read: FAST'25 single-turn rows (timestamp, input_length, output_length, cumulative
hash_ids) and multi-turn sessions (session_id; turn 0 with timestamp/group_id; later turns with delay
and incremental hash_ids; is_restart on a continuation's turn 0).

Memory stays flat whatever the file holds: it is read in blocks of whole lines, and a line longer than
``max_line_bytes`` is skipped (reported as :class:`LongLine`) instead of being gathered whole.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from agenttrace_pipeline import strict_json
from agenttrace_pipeline.trace.model import MAX_LINE_BYTES

GZIP_MAGIC = b"\x1f\x8b"
CHUNK_BYTES = 4 << 20  # bytes read at a time


class TraceReadError(Exception):
    """A trace cannot be read or a row breaks the contract; names the file, line and field."""

    def __init__(self, path: str | Path, line: int, field: str, reason: str) -> None:
        self.path, self.line, self.field, self.reason = str(path), line, field, reason
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {field}: {reason}" if field else f"{where}: {reason}")


class CorruptGzip(ValueError):
    """The gzip stream of a compressed trace is damaged or truncated."""


class _Gunzip:
    """``read(n)`` of a gzip stream (one member or several), decompressed a bounded piece at a time.

    A damaged or truncated stream gives back everything before the damage first, then raises
    :class:`CorruptGzip` (the gzip module would raise ``OSError``, which reads as "cannot open the file",
    and would drop the rows it had already decompressed).
    """

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self._d = zlib.decompressobj(wbits=31)
        self._buf = bytearray()
        self._done = False
        self._error: CorruptGzip | None = None

    def _next_input(self) -> bytes | None:
        """Compressed bytes to feed next; None at a clean end of the stream."""
        if self._d.unconsumed_tail:
            return self._d.unconsumed_tail
        if self._d.eof:
            rest = self._d.unused_data or self.raw.read(1 << 16)
            if not rest:
                return None
            self._d = zlib.decompressobj(wbits=31)  # the next member of a concatenated gzip
            return rest
        data = self.raw.read(1 << 16)
        if not data:
            self._error = CorruptGzip("the gzip-compressed data is truncated (the file ends inside the stream)")
            return None
        return data

    def read(self, n: int = 1 << 22) -> bytes:
        # Decompressed in fixed 64 KB steps whatever ``n`` is, so where damage is found does not depend
        # on the caller's block size.
        while len(self._buf) < n and not self._done and self._error is None:
            data = self._next_input()
            if data is None:
                self._done = True
                break
            try:
                self._buf += self._d.decompress(data, 1 << 16)
            except zlib.error as exc:
                self._error = CorruptGzip(f"the gzip-compressed data is damaged ({exc})")
        if not self._buf and self._error is not None:
            raise self._error
        out = bytes(self._buf[:n])
        del self._buf[:n]
        return out


def is_gzip(path: str | Path) -> bool:
    """Whether ``path`` starts with the gzip magic bytes (whatever its name)."""
    with open(path, "rb") as fh:
        return fh.read(2) == GZIP_MAGIC


@contextmanager
def open_trace(source: str | Path | BinaryIO) -> Iterator[Any]:
    """An object with ``read(n)`` over the trace's bytes, decompressed when it is gzip (by magic bytes).

    ``source`` is a path or an open binary stream; raises ``OSError`` when a path cannot be opened.
    """
    if isinstance(source, (str, Path)):
        with open(source, "rb", buffering=1 << 20) as fh:
            yield _Gunzip(fh) if fh.peek(2)[:2] == GZIP_MAGIC else fh
        return
    peek = getattr(source, "peek", None)
    yield _Gunzip(source) if peek is not None and peek(2)[:2] == GZIP_MAGIC else source


def is_compressed(fh: Any) -> bool:
    """Whether ``fh`` (from :func:`open_trace`) decompresses gzip."""
    return isinstance(fh, _Gunzip)


def consumed(fh: Any) -> int:
    """Bytes of the file itself read so far (compressed bytes for gzip), for progress reports."""
    try:
        return getattr(fh, "raw", fh).tell()
    except (OSError, ValueError):
        return 0


@dataclass(frozen=True, slots=True)
class Block:
    """Whole lines starting at line ``first_line``; only a file's last line may lack its newline."""

    first_line: int
    data: bytes


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
            yield Block(line_no, data)
            line_no += data.count(b"\n")
        elif _looks_cr_only(carry):
            yield CrOnly(line_no)
            return
        if len(carry) > max_line_bytes:
            skipped, carry = len(carry), b""
    if skipped >= 0:
        yield LongLine(line_no, skipped)
    elif carry:
        yield Block(line_no, carry)


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


def long_line_reason(length: int, max_line_bytes: int) -> str:
    return (f"line is longer than the {max_line_bytes:,}-byte limit ({length:,} bytes or more); skipped "
            "without reading it whole (raise max_line_bytes if such rows are real)")


CR_ONLY_REASON = ("the file uses CR-only line endings (classic Mac): rows end in a bare CR, not LF; save it "
                  "with LF line endings (e.g. tr '\\r' '\\n')")


def iter_lines(source: str | Path | BinaryIO, max_line_bytes: int = MAX_LINE_BYTES,
               ) -> Iterator[tuple[int, bytes, bool]]:
    """Yield ``(line_no, raw_bytes_without_newline, ends_with_newline)`` for every line of ``source``.

    ``source`` is a path or an open binary stream (e.g. a pipe); gzip is decompressed. Raises ``OSError``
    when a path cannot be opened and :class:`TraceReadError` for an overlong line, CR-only line endings
    or damaged gzip data.
    """
    name = source if isinstance(source, (str, Path)) else getattr(source, "name", "<stream>")
    with open_trace(source) as fh:
        try:
            for ev in iter_blocks(fh, max_line_bytes):
                if isinstance(ev, LongLine):
                    raise TraceReadError(name, ev.line, "", long_line_reason(ev.length, max_line_bytes))
                if isinstance(ev, CrOnly):
                    raise TraceReadError(name, ev.line, "", CR_ONLY_REASON)
                parts = ev.data.split(b"\n")
                last = parts.pop()  # b"" when the block ends with a newline
                for i, raw in enumerate(parts):
                    yield ev.first_line + i, raw[:-1] if raw.endswith(b"\r") else raw, True
                if last:
                    yield ev.first_line + len(parts), last, False
        except CorruptGzip as exc:
            raise TraceReadError(name, 0, "", str(exc)) from None


def iter_rows(path: str | Path, max_line_bytes: int = MAX_LINE_BYTES) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line_no, row)`` for each row; raise :class:`TraceReadError` on the first unreadable line.

    Only syntax is checked here (duplicate keys included); use
    :func:`agenttrace_pipeline.trace.validate_file` for the contract.
    """
    try:
        for line_no, raw, has_newline in iter_lines(path, max_line_bytes):
            if not raw.strip():
                continue
            try:
                row = strict_json.loads(raw)
            except strict_json.DuplicateKeyError as exc:
                raise TraceReadError(path, line_no, exc.key, duplicate_key_reason(exc.key)) from None
            except strict_json.JSONDecodeError as exc:
                raise TraceReadError(path, line_no, "", bad_line_reason(raw, exc, has_newline)) from None
            if not isinstance(row, dict):
                raise TraceReadError(path, line_no, "", "a row must be a JSON object")
            yield line_no, row
    except OSError as exc:
        raise TraceReadError(path, 0, "", f"cannot read file ({exc.strerror or exc})") from None


def duplicate_key_reason(key: str) -> str:
    return (f"duplicate key {key!r}: JSON leaves a repeated key undefined (some readers keep the first value, "
            "others the last), so the row is ambiguous")
