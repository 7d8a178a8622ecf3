"""The Parquet lake's root: a local folder or an object-store URL, through fsspec.

Everything the warehouse writes goes through :class:`Lake`, so moving the lake to ``s3://bucket/lake`` (or
any fsspec filesystem) is a configuration change. Writes are staged under a temporary name beside their
target and moved into place on commit: on a local disk that is an atomic rename, on an object store a
single-object copy (readers see the old object or the new one, never half of one).
"""

from __future__ import annotations

import posixpath
import uuid
from dataclasses import dataclass
from pathlib import Path

import fsspec
import polars as pl
from fsspec.implementations.local import LocalFileSystem

TMP_SUFFIX = ".tmp"


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
        return sorted(p for p in self.fs.glob(self.path(pattern)) if not p.endswith(TMP_SUFFIX))

    def read_parquet(self, path: str) -> pl.DataFrame:
        if self.local:
            return pl.read_parquet(path)
        with self.fs.open(path, "rb") as fh:
            return pl.read_parquet(fh)

    def stage_parquet(self, df: pl.DataFrame, target: str) -> Staged:
        """Write ``df`` beside ``target`` under a hidden temporary name; :meth:`commit` moves it into place."""
        folder, name = posixpath.split(target)
        tmp = posixpath.join(folder, f".{name}.{uuid.uuid4().hex[:12]}{TMP_SUFFIX}")
        self.fs.makedirs(folder, exist_ok=True)
        try:
            with self.fs.open(tmp, "wb") as fh:
                df.write_parquet(fh, compression="zstd", statistics=True)
        except BaseException:
            self.discard(Staged(tmp, target))
            raise
        return Staged(tmp, target)

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
