"""Mooncake trace contract: row model, streaming reader, validator, writer and table schema."""

from agenttrace_pipeline.trace.reader import TraceReadError, iter_rows
from agenttrace_pipeline.trace.validator import ValidationReport, Violation, validate_file
from agenttrace_pipeline.trace.writer import write_rows

__all__ = [
    "TraceReadError",
    "ValidationReport",
    "Violation",
    "iter_rows",
    "validate_file",
    "write_rows",
]
