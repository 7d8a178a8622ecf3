"""The Parquet lake's root: a local folder or an object-store URL, through fsspec.

Everything the warehouse writes goes through :class:`Lake`, so moving the lake to ``s3://bucket/lake`` (or
any fsspec filesystem) is a configuration change. Writes are staged under a temporary name beside their
target and moved into place on commit: on a local disk that is an atomic rename, on an object store a
single-object copy (readers see the old object or the new one, never half of one).
"""

from __future__ import annotations

import os
import posixpath
import re
import socket
import uuid
from dataclasses import dataclass
from pathlib import Path

import fsspec
import polars as pl
from fsspec.implementations.local import LocalFileSystem

TMP_SUFFIX = ".tmp"
# a staged name carries the writer's host and pid, so a killed writer's leftovers can be told from a live one's
_HOST = re.sub(r"[^A-Za-z0-9-]+", "-", socket.gethostname())[:40] or "host"
_STAGED = re.compile(r"^\.(?P<name>.+)\.(?P<host>[A-Za-z0-9-]+)\.(?P<pid>\d+)\.[0-9a-f]{12}" + re.escape(TMP_SUFFIX) + "$")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


@dataclass(frozen=True, slots=True)
class Staged:
    """A file written under a temporary name, waiting to be moved onto ``target``."""

    tmp: str
    target: str


class Lake:
    """A lake root given as a path or URL (``/data/lake``, ``file:///…``, ``s3://bucket/lake``, ``memory://…``)."""

    def __init__(self, root: str | Path, storage_options: dict | None = None) -> None:
        text = str(root)
        self.fs, path = fsspec.core.url_to_fs(text, **(storage_options or {}))
        self.local = isinstance(self.fs, LocalFileSystem)
        self.root = str(Path(path).resolve()) if self.local else path.rstrip("/")
        # what DuckDB and polars are given: a plain path locally, the URL otherwise
        self.url = self.root if self.local else f"{self.fs.unstrip_protocol(self.root)}"

    def __repr__(self) -> str:
        return f"Lake({self.url!r})"

    def path(self, *parts: str) -> str:
        return posixpath.join(self.root, *parts)

    def uri(self, *parts: str) -> str:
        """The form a reader is given (a URL for object stores)."""
        return posixpath.join(self.url, *parts)

    def exists(self, path: str) -> bool:
        return bool(self.fs.exists(path))

    def glob(self, pattern: str) -> list[str]:
        """Paths matching ``pattern`` (under the root), sorted; temporary files are never matched."""
        if not self.local:
            self.fs.invalidate_cache()  # object-store listings are cached per process; other writers add files
        return sorted(p for p in self.fs.glob(self.path(pattern)) if not p.endswith(TMP_SUFFIX))

    def read_parquet(self, path: str) -> pl.DataFrame:
        if self.local:
            return pl.read_parquet(path)
        with self.fs.open(path, "rb") as fh:
            return pl.read_parquet(fh)

    def stage_parquet(self, df: pl.DataFrame, target: str) -> Staged:
        """Write ``df`` beside ``target`` under a hidden temporary name; :meth:`commit` moves it into place."""
        folder, name = posixpath.split(target)
        tmp = posixpath.join(folder, f".{name}.{_HOST}.{os.getpid()}.{uuid.uuid4().hex[:12]}{TMP_SUFFIX}")
        self.fs.makedirs(folder, exist_ok=True)
        self.sweep_stale(target)
        try:
            with self.fs.open(tmp, "wb") as fh:
                df.write_parquet(fh, compression="zstd", statistics=True)
        except BaseException:
            self.discard(Staged(tmp, target))
            raise
        return Staged(tmp, target)

    def sweep_stale(self, target: str) -> list[str]:
        """Remove the staged files of ``target`` left by a killed writer of this host (its pid is gone); return
        them. Another host's leftovers are kept: readers never see them, and their writer may be alive."""
        folder, name = posixpath.split(target)
        stale = []
        for path in self.fs.glob(posixpath.join(folder, f".{name}.*{TMP_SUFFIX}")):
            m = _STAGED.match(posixpath.basename(path))
            if m and m["name"] == name and m["host"] == _HOST and not _pid_alive(int(m["pid"])):
                self.discard(Staged(path, target))
                stale.append(path)
        return stale

    def commit(self, staged: Staged) -> None:
        if self.local:
            Path(staged.tmp).replace(staged.target)
        else:
            self.fs.mv(staged.tmp, staged.target)

    def discard(self, staged: Staged) -> None:
        try:
            self.fs.rm(staged.tmp)
        except FileNotFoundError:
            pass

    def remove(self, path: str) -> bool:
        """Delete one file of the lake (and its folder once empty); True if it existed."""
        if not self.fs.exists(path):
            return False
        self.fs.rm(path)
        folder = posixpath.dirname(path)
        try:
            if self.local and not self.fs.ls(folder):
                self.fs.rmdir(folder)
        except OSError:  # another writer put a file there meanwhile
            pass
        return True

    def sha256(self, path: str) -> str:
        import hashlib

        sha = hashlib.sha256()
        with self.fs.open(path, "rb") as fh:
            while block := fh.read(1 << 20):
                sha.update(block)
        return sha.hexdigest()
