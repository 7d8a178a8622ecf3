"""The canonical tables every source adapter produces, and what they share.

* Canonical turn (one row per LLM call of a real trace): source, trace_id, turn_index, model, started_at
  (UTC), prompt_tokens (cumulative input), completion_tokens, cached_tokens, new_input_tokens
  (``prompt_t - prompt_{t-1} - completion_{t-1}``, clipped at 0, null at turn 0 and after a context
  reset), llm_latency_ms, gap_before_ms (request start minus the previous response's end: tool + human
  time), tool_time_ms (time in the tools this turn called), n_tool_calls, context_reset (the source
  documents that the history was compacted/condensed before this call).
* Tool span: one row per tool invocation, with resource telemetry where a source has it.
* Arrival: one row per request of an arrival-only trace (Mooncake FAST'25, Azure).
* Quarantine: every record an adapter could not use, with where it came from and why.

An adapter is a pure function from files to :class:`Parsed`; nothing here touches the warehouse.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import polars as pl

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
    "reason": pl.String(),
}


@dataclass
class Parsed:
    """What an adapter made of its files: canonical rows, quarantined records, and record counts."""

    source: str
    turns: list[dict[str, Any]] = field(default_factory=list)
    spans: list[dict[str, Any]] = field(default_factory=list)
    arrivals: list[pl.DataFrame] = field(default_factory=list)
    quarantine: list[dict[str, Any]] = field(default_factory=list)
    records_in: int = 0
    records_accepted: int = 0

    def reject(self, file: str, record: str | int, reason: str) -> None:
        self.quarantine.append({"source": self.source, "file": file, "record": str(record), "reason": reason})

    def add_trace(self, file: str, record: str | int, trace_id: str, convert: Callable[[], tuple[list, list]]) -> None:
        """Run ``convert`` for one trace record: keep its turns and spans, or quarantine it with the reason."""
        try:
            turns, spans = convert()
        except (ValueError, TypeError, KeyError) as exc:
            self.reject(file, record, f"{trace_id}: {type(exc).__name__}: {exc}")
            return
        if not turns:
            self.reject(file, record, f"{trace_id}: no LLM calls found")
            return
        self.turns += turns
        self.spans += spans
        self.records_accepted += 1

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


def parse_time(value: Any) -> datetime | None:
    """ISO-8601 text (naive means UTC) or unix seconds → aware UTC datetime; None when absent/unparsable."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        # unix seconds; milliseconds if it looks like them
        v = float(value)
        return datetime.fromtimestamp(v / 1000 if v > 1e11 else v, UTC)
    if isinstance(value, str):
        try:
            dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)
    return None


def ms_between(a: datetime | None, b: datetime | None) -> float | None:
    if a is None or b is None:
        return None
    return (b - a).total_seconds() * 1000.0


def nonneg_int(value: Any) -> int | None:
    """An integer token count ≥ 0, or None; raises ValueError for negatives and non-numbers."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        raise ValueError(f"not a number: {value!r}")
    if value < 0:
        raise ValueError(f"negative token count {value}")
    return int(value)


def jsonl_records(path: Path, out: Parsed) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line, object)`` for each JSON-object line of ``path``; counts every non-blank line as a record and
    quarantines the ones that are not JSON objects (an unreadable file is one quarantined record)."""
    try:
        fh = open(path, "rb")
    except OSError as exc:
        out.records_in += 1
        out.reject(str(path), "file", f"cannot read: {exc.strerror or exc}")
        return
    with fh:
        for line_no, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            out.records_in += 1
            try:
                row = orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                out.reject(str(path), line_no, f"invalid JSON: {exc}")
                continue
            if not isinstance(row, dict):
                out.reject(str(path), line_no, "a line must be a JSON object")
                continue
            yield line_no, row
