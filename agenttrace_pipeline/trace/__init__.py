"""Mooncake trace contract: row rules, streaming reader, validator, writer and table schema."""

from agenttrace_pipeline.trace.model import BLOCK_SIZE, MAX_LINE_BYTES
from agenttrace_pipeline.trace.reader import TraceReadError, iter_rows, open_trace
from agenttrace_pipeline.trace.report import ValidationReport, Violation
from agenttrace_pipeline.trace.validator import validate_file
from agenttrace_pipeline.trace.writer import write_rows

__all__ = [
    "BLOCK_SIZE",
    "MAX_LINE_BYTES",
    "TraceReadError",
    "ValidationReport",
    "Violation",
    "iter_rows",
    "open_trace",
    "validate_file",
    "write_rows",
]
