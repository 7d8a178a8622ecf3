"""Mooncake trace contract: row rules, streaming reader, validator, writer and table schema.

Names are imported on first use, so ``agenttrace_pipeline.trace.model`` (the block size and limits) can be
read without loading numpy and the validator.
"""

from importlib import import_module
from typing import Any

_EXPORTS = {
    "BLOCK_SIZE": "model", "MAX_LINE_BYTES": "model", "TraceReadError": "reader", "iter_rows": "reader",
    "open_trace": "files", "ValidationReport": "report", "Violation": "report", "validate_file": "validator",
    "write_rows": "writer",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)
