"""The turn contract, applied per trace before staging: one bad trace never stops a source.

:func:`enforce` runs after an adapter and before its tables are staged. A trace whose rows cannot be stored
in the canonical schema, or that breaks a rule of :data:`~agenttrace_pipeline.sources.checks.CHECKS`, is
moved to quarantine record by record: each record that built it gets a quarantine row with its own file and
line (or key), the field (canonical column) at fault, and a reason naming the rule, the turn and where that
turn came from. The rest of the source is kept, and ``records_in = accepted + quarantined`` still holds.
After this, a failing blocking check on ``agent_turns`` means the contract was breached after quarantine: a
bug, whose rows :func:`~agenttrace_pipeline.sources.checks.locate` lists as ``FILE:LINE (source/trace/turn)``.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import polars as pl

from agenttrace_pipeline.sources.canonical import SPAN_SCHEMA, TURN_SCHEMA, Parsed
from agenttrace_pipeline.sources.checks import CHECKS, failing_field, failures

_BUILD_ERRORS = (pl.exceptions.PolarsError, TypeError, ValueError, OverflowError)


def enforce(parsed: Parsed) -> Parsed:
    """Quarantine every trace of ``parsed`` that cannot be stored or breaks the turn contract (in place)."""
    bad = _unstorable(parsed.turns, TURN_SCHEMA) | _unstorable(parsed.spans, SPAN_SCHEMA)
    _quarantine(parsed, bad)
    turns = parsed.turns_frame()
    broken: dict[str, tuple[str, str]] = {}
    for rule, rows in failures(turns).items():
        for row in rows.sort("turn_index").iter_rows(named=True):
            if row["trace_id"] not in broken:
                where = f"{row['file']}:{row['record']}" if row["file"] else "location unknown"
                broken[row["trace_id"]] = (failing_field(rule, row),
                                           f"trace breaks {rule} at turn {row['turn_index']} ({where}): {CHECKS[rule][0]}")
    _quarantine(parsed, broken)
    return parsed


def _quarantine(parsed: Parsed, bad: dict[str, tuple[str, str]]) -> None:
    """Move the traces in ``bad`` (trace id -> (field, reason)) from the accepted rows to quarantine."""
    if not bad:
        return
    for trace, (field, reason) in sorted(bad.items()):
        records = parsed.trace_records.pop(trace, [])
        for file, record in records:
            parsed.reject(file, record, reason, field)
        parsed.records_accepted -= len(records)
        parsed.quarantined_traces += 1
    parsed.turns = [t for t in parsed.turns if t["trace_id"] not in bad]
    parsed.spans = [s for s in parsed.spans if s["trace_id"] not in bad]


def _unstorable(rows: list[dict[str, Any]], schema: dict[str, pl.DataType]) -> dict[str, tuple[str, str]]:
    """Traces with a value the canonical schema cannot hold (trace id -> (column, reason)); cheap when all fit."""
    try:
        pl.DataFrame(rows, schema=schema, orient="row")
        return {}
    except _BUILD_ERRORS:
        pass
    by_trace: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_trace[r["trace_id"]].append(r)
    bad = {}
    for trace, trace_rows in by_trace.items():
        for col, dtype in schema.items():
            try:
                pl.Series(col, [r.get(col) for r in trace_rows], dtype=dtype)
            except _BUILD_ERRORS as exc:
                first_line = str(exc).strip().splitlines()[0]
                bad[trace] = (col, f"a value of {col} cannot be stored as {dtype}: {first_line}")
                break
    return bad
