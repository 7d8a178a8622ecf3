"""Offline KV-cache simulation over hash-id traces.

Entry point: :func:`agenttrace_pipeline.cachesim.simulate.simulate`. The kernels are compiled by numba
with ``cache=True``; numba checks only each function's own file when reusing a cached compilation, so a
kernel whose callee changed in another module would run stale code. Importing this package therefore
drops the package's numba cache whenever any of its sources changed.
"""

from __future__ import annotations

import hashlib
from pathlib import Path


def _drop_stale_numba_cache() -> None:
    here = Path(__file__).resolve().parent
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in sorted(here.glob("*.py")))).hexdigest()
    cache = here / "__pycache__"
    stamp = cache / "numba-sources.sha256"
    try:
        if stamp.is_file() and stamp.read_text() == digest:
            return
        for f in list(cache.glob("*.nbi")) + list(cache.glob("*.nbc")):
            f.unlink(missing_ok=True)
        cache.mkdir(exist_ok=True)
        stamp.write_text(digest)
    except OSError:  # a read-only install: numba then keeps its cache elsewhere or compiles each time
        pass


_drop_stale_numba_cache()
