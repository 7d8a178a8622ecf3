"""Run directories: safe names, written under a temporary name, published by rename, never outside the root.

Everything a run writes lives in ``<root>/.<name>.partial/`` (with a marker file naming the process) until it
is complete; then it is renamed to ``<root>/<name>``. A failed run removes its partial directory; a killed
run's leftovers (partial directories whose process is gone, and replaced directories awaiting removal) are
removed by the next run in the same root. Only names of this form, carrying this tool's marker or manifest,
are ever deleted, and every path is checked to lie directly under the root.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import time
from pathlib import Path

import orjson

MARKER = ".agenttrace-run"
TOOL = "agenttrace_pipeline"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_LEFTOVER = re.compile(r"^\.(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\.(partial|old-\d+)$")
_FOREIGN_HOST_AGE_S = 7 * 24 * 3600  # a partial directory of another host is only removed when this old
MAX_NAME = 120


class SynthesisError(RuntimeError):
    """The run cannot proceed (output folder, disk space, limits); the message is one line for the user."""


def safe_name(name: str, fallback: str = "config") -> str:
    """``name`` reduced to one safe path component: letters, digits, ``.``, ``_``, ``-``; no leading dot.

    ``"../../../victim"`` becomes ``"victim"`` and ``"/etc/x"`` becomes ``"etc_x"``, so a config or manifest
    name can never point a run directory outside its root.
    """
    cleaned = _UNSAFE.sub("_", name).strip("._-")[:MAX_NAME].rstrip("._-")
    return cleaned or fallback


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _marker_says_gone(directory: Path) -> bool:
    """True when ``directory`` carries our marker and the process that wrote it is gone."""
    try:
        info = orjson.loads((directory / MARKER).read_bytes())
        pid, host, started = int(info["pid"]), str(info["host"]), float(info["started"])
    except (OSError, ValueError, KeyError, TypeError):
        return False
    if host != socket.gethostname():
        return time.time() - started > _FOREIGN_HOST_AGE_S
    return not _alive(pid)


def is_our_run(directory: Path) -> bool:
    """A real directory whose manifest was written by this tool's generator."""
    if directory.is_symlink() or not directory.is_dir():
        return False
    try:
        m = orjson.loads((directory / "manifest.json").read_bytes())
    except (OSError, ValueError):
        return False
    return isinstance(m, dict) and m.get("tool") == TOOL and m.get("generator") == "agentic-code"


def clean_leftovers(root: Path) -> list[Path]:
    """Remove what killed runs left in ``root``: ``.<name>.partial`` / ``.<name>.old-<pid>`` directories of ours."""
    removed = []
    with contextlib.suppress(OSError):
        for entry in root.iterdir():
            m = _LEFTOVER.match(entry.name)
            if m is None or entry.is_symlink() or not entry.is_dir():
                continue
            kind = m.group(2)
            gone = _marker_says_gone(entry) if kind == "partial" else (is_our_run(entry) and not _alive(int(kind[4:])))
            if gone:
                shutil.rmtree(entry, ignore_errors=True)
                removed.append(entry)
    return removed


class RunDirectory:
    """One run's directory under ``root``: :meth:`open`, write into :attr:`work`, then :meth:`publish`."""

    def __init__(self, root: str | Path, name: str) -> None:
        if safe_name(name) != name:
            raise SynthesisError(f"run name {name!r} is not a safe directory name (letters, digits, '.', '_', '-')")
        self.root = Path(root).expanduser()
        self.final = self.root / name
        self.work = self.root / f".{name}.partial"
        self._old = self.root / f".{name}.old-{os.getpid()}"

    def _check_root(self) -> None:
        if self.root.exists() and not self.root.is_dir():
            raise SynthesisError(f"output folder {self.root} is a file, not a folder")
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SynthesisError(f"cannot create output folder {self.root}: {exc.strerror or exc}") from None
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise SynthesisError(f"output folder {self.root} is not writable")
        base = self.root.resolve()
        for p in (self.final, self.work, self._old):
            if p.parent.resolve() != base:
                raise SynthesisError(f"{p} would lie outside the output folder {base}")

    def open(self) -> Path:
        """Create the partial directory (removing our own leftovers first); returns it."""
        self._check_root()
        clean_leftovers(self.root)
        if self.work.exists():
            raise SynthesisError(f"{self.work} exists: another run with this name is writing (or left it; "
                                 "it is removed automatically once that process is gone)")
        try:
            self.work.mkdir()
            (self.work / MARKER).write_bytes(orjson.dumps(
                {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()}))
        except OSError as exc:
            self.discard()
            raise SynthesisError(f"cannot write in output folder {self.root}: {exc.strerror or exc}") from None
        return self.work

    def publish(self) -> Path:
        """Rename the finished partial directory to its final name, replacing an earlier run of ours."""
        (self.work / MARKER).unlink(missing_ok=True)
        if self.final.exists() or self.final.is_symlink():
            if not is_our_run(self.final):
                raise SynthesisError(f"refusing to replace {self.final}: it is not a run directory written by "
                                     "this generator (choose another name or output folder)")
            self.final.rename(self._old)
            self.work.rename(self.final)
            shutil.rmtree(self._old, ignore_errors=True)
        else:
            self.work.rename(self.final)
        return self.final

    def discard(self) -> None:
        """Remove the partial directory (after a failure)."""
        if self.work.is_dir() and not self.work.is_symlink():
            shutil.rmtree(self.work, ignore_errors=True)
