"""Opening trace files: gzip recognised by its magic bytes and decompressed in bounded steps."""

from __future__ import annotations

import io
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, cast

GZIP_MAGIC = b"\x1f\x8b"


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
        with open(source, "rb", buffering=1 << 20) as opened:
            # a buffered binary open is a BufferedReader; typeshed types any explicit buffer size as BinaryIO
            fh = cast(io.BufferedReader, opened)
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
