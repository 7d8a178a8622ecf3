"""The canonical tables every source adapter produces, and what they share.

* Canonical turn (one row per LLM call of a real trace): source, trace_id, turn_index, model, started_at
  (UTC), prompt_tokens (cumulative input), completion_tokens, cached_tokens, new_input_tokens
  (``prompt_t - prompt_{t-1} - completion_{t-1}``, clipped at 0, null at turn 0 and after a context
  reset), llm_latency_ms, gap_before_ms (request start minus the previous response's end: tool + human
  time), tool_time_ms (time in the tools this turn called), n_tool_calls, context_reset (the source
  documents that the history was compacted/condensed before this call), usage_snapshot (the logged usage
  was a streaming snapshot: completion_tokens is an estimate, see :mod:`.snapshots`), file and record
  (where the turn came from: path and line or key).
* Tool span: one row per tool invocation, with resource telemetry where a source has it.
* Arrival: one row per request of an arrival-only trace (Mooncake FAST'25, Azure).
* Quarantine: every record an adapter could not use, with where it came from (file, line or key), the field
  that broke it and why.

An adapter is a pure function from files to :class:`Parsed`; nothing here touches the warehouse.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

import polars as pl

from agenttrace_pipeline import strict_json
from agenttrace_pipeline.sources.fields import Node, RecordError, join, kind

TURN_SCHEMA: dict[str, pl.DataType] = {
    "source": pl.String(),
    "trace_id": pl.String(),
    "turn_index": pl.Int32(),
    "model": pl.String(),
    "started_at": pl.Datetime("us", "UTC"),
    "prompt_tokens": pl.Int64(),
    "completion_tokens": pl.Int64(),
    "cached_tokens": pl.Int64(),
    "new_input_tokens": pl.Int64(),
    "llm_latency_ms": pl.Float64(),
    "gap_before_ms": pl.Float64(),
    "tool_time_ms": pl.Float64(),
    "n_tool_calls": pl.Int32(),
    "context_reset": pl.Boolean(),
    # the logged usage was a streaming snapshot (output tokens under-counted); completion_tokens then holds
    # an estimate from the content length, and output-length fits leave the row out
    "usage_snapshot": pl.Boolean(),
    "file": pl.String(),  # where the turn came from: the file and its line / record key
    "record": pl.String(),
}

SPAN_SCHEMA: dict[str, pl.DataType] = {
    "source": pl.String(),
    "trace_id": pl.String(),
    "span_index": pl.Int32(),
    "turn_index": pl.Int32(),
    "tool_name": pl.String(),
    "started_at": pl.Datetime("us", "UTC"),
    "ended_at": pl.Datetime("us", "UTC"),
    "duration_ms": pl.Float64(),
    "exit_code": pl.Int64(),
    "is_error": pl.Boolean(),
    "user_cpu_s": pl.Float64(),
    "system_cpu_s": pl.Float64(),
    "peak_rss_bytes": pl.Int64(),
    "disk_read_bytes": pl.Int64(),
    "disk_write_bytes": pl.Int64(),
}

ARRIVAL_SCHEMA: dict[str, pl.DataType] = {
    "source": pl.String(),
    "file": pl.String(),
    "request_index": pl.Int64(),
    "timestamp_ms": pl.Float64(),  # from the first request of the file
    "input_tokens": pl.Int64(),
    "output_tokens": pl.Int64(),
}

QUARANTINE_SCHEMA: dict[str, pl.DataType] = {
    "source": pl.String(),
    "file": pl.String(),
    "record": pl.String(),  # line number or record key
    "field": pl.String(),  # the field (path) that broke the record; empty when the whole record is unusable
    "reason": pl.String(),
}

# What a record's conversion may raise besides RecordError: a safety net so one record the adapter did not
# foresee is quarantined with its exception instead of stopping the source.
RECORD_ERRORS = (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError)


@dataclass
class Parsed:
    """What an adapter made of its files: canonical rows, quarantined records, and record counts.

    ``records_in == records_accepted + len(quarantine)`` always holds. ``trace_records`` lists, per trace, the
    ``(file, record)`` of every accepted record that built it, so a trace that breaks the turn contract can be
    quarantined record by record (:mod:`agenttrace_pipeline.sources.contract`).
    """

    source: str
    turns: list[dict[str, Any]] = field(default_factory=list)
    spans: list[dict[str, Any]] = field(default_factory=list)
    arrivals: list[pl.DataFrame] = field(default_factory=list)
    quarantine: list[dict[str, Any]] = field(default_factory=list)
    records_in: int = 0
    records_accepted: int = 0
    api_error_records: int = 0  # error replies logged as assistant messages: read, but no LLM call
    snapshot_turns: int = 0  # turns whose logged usage was a streaming snapshot (completion estimated)
    quarantined_traces: int = 0  # traces that broke the turn contract as a whole
    trace_records: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    def reject(self, file: str, record: str | int, reason: str, field: str = "") -> None:
        self.quarantine.append({"source": self.source, "file": file, "record": str(record), "field": field,
                                "reason": reason})

    def reject_error(self, file: str, record: str | int, exc: Exception, prefix: str = "") -> None:
        """Quarantine a record for ``exc``: a :class:`RecordError` gives its field; anything else its type."""
        if isinstance(exc, RecordError):
            self.reject(file, record, prefix + exc.reason, exc.field)
        else:
            self.reject(file, record, f"{prefix}{type(exc).__name__}: {exc}")

    def accept(self, file: str, record: str | int, trace_id: str | None = None) -> None:
        """Count one accepted record; ``trace_id`` names the trace it belongs to (None: none)."""
        self.records_accepted += 1
        if trace_id is not None:
            self.trace_records.setdefault(trace_id, []).append((file, str(record)))

    def add_trace(self, file: str, record: str | int, trace_id: str, convert: Callable[[], tuple[list, list]],
                  empty_reason: str = "no LLM calls found") -> None:
        """Run ``convert`` for a record that is one whole trace: keep its turns and spans (located at ``file``
        and ``record`` unless the adapter located them more precisely), or quarantine it with the reason."""
        try:
            turns, spans = convert()
        except RECORD_ERRORS as exc:
            self.reject_error(file, record, exc, f"{trace_id}: ")
            return
        if not turns:
            self.reject(file, record, f"{trace_id}: {empty_reason}")
            return
        for t in turns:
            t["file"] = t["file"] or file
            t["record"] = t["record"] or str(record)
        self.turns += turns
        self.spans += spans
        self.accept(file, record, trace_id)

    def add_record_trace(self, file: str, record: str | int, trace_id: str, raw: Any,
                         convert: Callable[[Node, str, str], tuple[list, list]]) -> None:
        """:meth:`add_trace` for a record that is one JSON object: ``convert(Node(raw), source, trace_id)``,
        with ``raw`` wrapped inside the guarded call so a record that is not an object is quarantined too."""
        self.add_trace(file, record, trace_id, lambda: convert(Node(raw), self.source, trace_id))

    def turns_frame(self) -> pl.DataFrame:
        df = pl.DataFrame(self.turns, schema=TURN_SCHEMA, orient="row") if self.turns else pl.DataFrame(schema=TURN_SCHEMA)
        return derive_new_input_tokens(df)

    def spans_frame(self) -> pl.DataFrame:
        return pl.DataFrame(self.spans, schema=SPAN_SCHEMA, orient="row") if self.spans else pl.DataFrame(schema=SPAN_SCHEMA)

    def arrivals_frame(self) -> pl.DataFrame:
        return pl.concat(self.arrivals) if self.arrivals else pl.DataFrame(schema=ARRIVAL_SCHEMA)

    def quarantine_frame(self) -> pl.DataFrame:
        return pl.DataFrame(self.quarantine, schema=QUARANTINE_SCHEMA, orient="row") if self.quarantine \
            else pl.DataFrame(schema=QUARANTINE_SCHEMA)


def turn(source: str, trace_id: str, index: int, **values: Any) -> dict[str, Any]:
    """A canonical-turn dict with every column present (missing values are null)."""
    row = dict.fromkeys(TURN_SCHEMA)
    row.update(source=source, trace_id=trace_id, turn_index=index, context_reset=False, n_tool_calls=0,
               usage_snapshot=False)
    row.update(values)
    return row


def span(source: str, trace_id: str, index: int, **values: Any) -> dict[str, Any]:
    row = dict.fromkeys(SPAN_SCHEMA)
    row.update(source=source, trace_id=trace_id, span_index=index)
    row.update(values)
    if row["duration_ms"] is None and row["started_at"] is not None and row["ended_at"] is not None:
        row["duration_ms"] = ms_between(row["started_at"], row["ended_at"])
    return row


def derive_new_input_tokens(df: pl.DataFrame) -> pl.DataFrame:
    """``new_input_tokens = prompt_t - prompt_{t-1} - completion_{t-1}``, clipped at 0; null at turn 0 and
    where the context was reset (the new prompt does not extend the old one)."""
    key = ["source", "trace_id"]
    prev_prompt = pl.col("prompt_tokens").shift(1).over(key, order_by="turn_index")
    prev_completion = pl.col("completion_tokens").shift(1).over(key, order_by="turn_index")
    new = (pl.col("prompt_tokens") - prev_prompt - prev_completion).clip(lower_bound=0)
    return df.with_columns(
        pl.when((pl.col("turn_index") == 0) | pl.col("context_reset")).then(None).otherwise(new).alias("new_input_tokens")
    )


def ms_between(a: datetime | None, b: datetime | None) -> float | None:
    if a is None or b is None:
        return None
    return (b - a).total_seconds() * 1000.0


def open_records(path: Path) -> BinaryIO:
    """Open a source file for reading bytes; a gzip-compressed file (by its magic bytes) is decompressed."""
    fh = open(path, "rb")
    if fh.peek(2)[:2] == b"\x1f\x8b":
        return gzip.open(fh)  # type: ignore[return-value]  # a GzipFile reads bytes; typeshed does not call it BinaryIO
    return fh


def load_json(raw: bytes | str, field: str = "") -> Any:
    """Parse one JSON document, rejecting duplicate keys; errors are :class:`RecordError` (``field`` names
    where the text came from, e.g. ``spans_json``; a duplicate names its key)."""
    try:
        return strict_json.loads(raw)
    except strict_json.DuplicateKeyError as exc:
        raise RecordError(join(field, exc.key) if field else exc.key, str(exc)) from None
    except strict_json.JSONDecodeError as exc:
        raise RecordError(field, f"invalid JSON: {exc}") from None


def jsonl_records(path: Path, out: Parsed) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line, object)`` for each JSON-object line of ``path`` (gzip is read transparently); counts every
    non-blank line as a record and quarantines the ones that are not JSON objects or repeat a key (an
    unreadable file is one quarantined record)."""
    try:
        fh = open_records(path)
    except OSError as exc:
        out.records_in += 1
        out.reject(str(path), "file", f"cannot read: {exc.strerror or exc}")
        return
    with fh:
        for line_no, raw in enumerate(_lines(fh, path, out), start=1):
            if not raw.strip():
                continue
            out.records_in += 1
            try:
                row = load_json(raw)
                if not isinstance(row, dict):
                    raise RecordError("", f"a line must be a JSON object, not {kind(row)}")
            except RecordError as exc:
                hint = "lines end in CR only: convert the line endings to LF; " if b"\r" in raw.strip() else ""
                out.reject(str(path), line_no, hint + exc.reason, exc.field)
                continue
            yield line_no, row


def _lines(fh: BinaryIO, path: Path, out: Parsed) -> Iterator[bytes]:
    """The lines of ``fh``; a read error part-way (e.g. a truncated gzip stream) is one quarantined record."""
    try:
        yield from fh
    except (OSError, EOFError) as exc:
        out.records_in += 1
        out.reject(str(path), "file", f"cannot read the rest of the file: {exc}")
