"""Atomic writes: content goes to a temporary name in the target's folder and is renamed into place.

Readers therefore see the old file or the new one, never half of one; a failed write leaves no trace.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO


class HashingWriter:
    """A binary sink that hashes (sha256) and counts what passes through it."""

    def __init__(self, fh: BinaryIO) -> None:
        self._fh = fh
        self._sha = hashlib.sha256()
        self.bytes_written = 0

    def write(self, data: bytes) -> int:
        self._sha.update(data)
        self.bytes_written += len(data)
        return self._fh.write(data)

    @property
    def sha256(self) -> str:
        return self._sha.hexdigest()


def current_umask() -> int:
    """The process umask (read by setting and restoring it: the only portable way)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(target: str | Path, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success it is renamed onto ``target``."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix + ".tmp", dir=target.parent)
    os.fchmod(fd, 0o666 & ~current_umask())  # mkstemp makes 0600; a written file respects the umask
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    finally:
        tmp_path.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_writer(target: str | Path) -> Iterator[HashingWriter]:
    """Open ``target`` for binary writing atomically; the yielded writer reports sha256 and size."""
    with atomic_path(target) as tmp, open(tmp, "wb", buffering=1 << 20) as fh:
        writer = HashingWriter(fh)
        yield writer
        fh.flush()
        os.fsync(fh.fileno())


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """sha256 hex digest of a file's bytes."""
    sha = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            sha.update(block)
    return sha.hexdigest()
