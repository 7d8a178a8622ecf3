"""Code versions that change only when the code an asset runs changes.

An asset's code version is the package version plus a digest of its module and every project module that
module imports, transitively (read from the source with ``ast``, nothing is executed). Editing the CLI or
an unrelated adapter therefore leaves unrelated assets up to date in the UI.
"""

from __future__ import annotations

import ast
import functools
import hashlib
from pathlib import Path

from agenttrace_pipeline import __version__

PACKAGE = "agenttrace_pipeline"
_ROOT = Path(__file__).resolve().parent


def _path(module: str) -> Path | None:
    parts = module.split(".")[1:]
    if not parts:
        return _ROOT / "__init__.py"
    rel = Path(*parts)
    for candidate in (_ROOT / rel.with_suffix(".py"), _ROOT / rel / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


@functools.cache
def _imports(module: str) -> frozenset[str]:
    """Project modules that ``module`` imports directly (absolute imports of the package only)."""
    path = _path(module)
    if path is None:
        return frozenset()
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith(PACKAGE))
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(PACKAGE):
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names if _path(f"{node.module}.{a.name}"))
    return frozenset(m for m in found if _path(m) is not None)


def closure(module: str) -> list[str]:
    """``module`` and every project module it reaches through imports, sorted."""
    seen, todo = {module}, [module]
    while todo:
        for dep in _imports(todo.pop()):
            if dep not in seen:
                seen.add(dep)
                todo.append(dep)
    return sorted(m for m in seen if _path(m) is not None)


@functools.cache
def code_version(module: str) -> str:
    """``<package version>+<12 hex>``: the digest of ``module``'s import closure within the project."""
    sha = hashlib.sha256()
    for m in closure(module):
        path = _path(m)
        assert path is not None
        sha.update(m.encode())
        sha.update(path.read_bytes())
    return f"{__version__}+{sha.hexdigest()[:12]}"
