"""Arrival-only traces → the ``arrivals`` table (request time, input and output tokens).

* Azure LLM inference CSV (``TIMESTAMP,ContextTokens,GeneratedTokens``, absolute times with up to 7
  fractional digits).
* Mooncake FAST'25 JSONL (``timestamp`` ms, ``input_length``, ``output_length``).

Times become milliseconds from the file's first request. Rows with unparsable or negative values, token
counts above 2**53, or (CSV) a field count other than the header's are quarantined with their line and field;
the rows beside them are kept.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import polars as pl

from agenttrace_pipeline.sources.canonical import ARRIVAL_SCHEMA, Parsed, open_records
from agenttrace_pipeline.sources.fields import MAX_TOKENS
from agenttrace_pipeline.trace.reader import BadLine, iter_records
from agenttrace_pipeline.trace.rules import value_problems

FORMAT_AZURE = "azure_arrivals"
FORMAT_MOONCAKE = "mooncake_arrivals"


def _frame(source: str, path: Path, lines: list[int], ts_ms: list[float], inp: list[int], out: list[int]) -> pl.DataFrame:
    df = pl.DataFrame({"line": lines, "t": ts_ms, "input_tokens": inp, "output_tokens": out},
                      schema={"line": pl.Int64, "t": pl.Float64, "input_tokens": pl.Int64, "output_tokens": pl.Int64})
    df = df.sort("t", maintain_order=True)
    return df.select(
        pl.lit(source).alias("source"), pl.lit(str(path)).alias("file"),
        pl.int_range(pl.len(), dtype=pl.Int64).alias("request_index"),
        (pl.col("t") - pl.col("t").min()).alias("timestamp_ms"), "input_tokens", "output_tokens",
    ).cast(ARRIVAL_SCHEMA)  # type: ignore[arg-type]  # polars' cast keys are a union and Mapping keys invariant


_AZURE_COLUMNS = ("TIMESTAMP", "ContextTokens", "GeneratedTokens")


def _csv_lines(path: Path, out: Parsed) -> tuple[list[str], list[tuple[int, list[str]]]] | None:
    """The header and ``(line, fields)`` of every non-blank line of a CSV file; a line whose field count
    differs from the header's is quarantined on its own. None (one quarantined record) if unreadable."""
    try:
        with open_records(path) as fh:
            text = fh.read().decode("utf-8", errors="replace")  # a bad byte fails its row's parse, not the file
    except OSError as exc:
        out.records_in += 1
        out.reject(str(path), "file", f"cannot read: {exc.strerror or exc}")
        return None
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    rows = []
    for fields in reader:
        if not fields:
            continue
        if header is None:
            header = fields
            continue
        out.records_in += 1
        if len(fields) != len(header):
            out.reject(str(path), reader.line_num, f"ragged line: {len(fields)} fields where the header has {len(header)}")
            continue
        rows.append((reader.line_num, fields))
    return header or [], rows


def read_azure(files: list[Path], source: str) -> Parsed:
    out = Parsed(source)
    for path in files:
        parsed = _csv_lines(path, out)
        if parsed is None:
            continue
        header, rows = parsed
        missing = sorted(set(_AZURE_COLUMNS) - set(header))
        if missing:
            if not rows:  # nothing but a header (or nothing): the file is the one record
                out.records_in += 1
                rows = [(1, [])]
            for line, _ in rows:
                out.reject(str(path), line, f"the header lacks columns {missing}", missing[0])
            continue
        cols = [header.index(c) for c in _AZURE_COLUMNS]
        raw = pl.DataFrame({"line": [line for line, _ in rows],
                            **{name: [f[c] for _, f in rows] for name, c in zip(_AZURE_COLUMNS, cols, strict=True)}},
                           schema={"line": pl.Int64, **dict.fromkeys(_AZURE_COLUMNS, pl.String)})
        df = raw.with_columns(
            pl.col("TIMESTAMP").str.strptime(pl.Datetime("ns"), "%Y-%m-%d %H:%M:%S%.f", strict=False).alias("ts"),
            pl.col("ContextTokens").cast(pl.Int64, strict=False).alias("inp"),
            pl.col("GeneratedTokens").cast(pl.Int64, strict=False).alias("out"),
        ).with_columns(
            pl.when(pl.col("ts").is_null()).then(pl.lit("TIMESTAMP"))
            .when(~pl.col("inp").is_between(0, MAX_TOKENS).fill_null(False)).then(pl.lit("ContextTokens"))
            .when(~pl.col("out").is_between(0, MAX_TOKENS).fill_null(False)).then(pl.lit("GeneratedTokens"))
            .alias("bad_field"))
        for r in df.filter(pl.col("bad_field").is_not_null()).iter_rows(named=True):
            out.reject(str(path), r["line"], f"bad row: TIMESTAMP={r['TIMESTAMP']!r} ContextTokens={r['ContextTokens']!r} "
                                             f"GeneratedTokens={r['GeneratedTokens']!r}", r["bad_field"])
        good = df.filter(pl.col("bad_field").is_null())
        out.records_accepted += good.height
        ts_ms = (good["ts"].cast(pl.Int64) / 1e6).to_list()
        out.arrivals.append(_frame(source, path, good["line"].to_list(), ts_ms, good["inp"].to_list(), good["out"].to_list()))
    return out


def _arrival_problem(r: dict) -> tuple[str, str] | None:
    """The first way a row fails the trace contract's rules for an arrival (None when it is one)."""
    for name in ("timestamp", "input_length", "output_length"):
        if name not in r:
            return name, "missing (an arrival needs timestamp, input_length and output_length)"
    problems = value_problems(r)
    return problems[0] if problems else None


def read_mooncake(files: list[Path], source: str) -> Parsed:
    """FAST'25 Mooncake JSONL (plain or gzip): each row checked by the trace contract's row rules
    (:mod:`agenttrace_pipeline.trace.rules`); unreadable lines and rows that break a rule are quarantined
    with their line, field and reason."""
    out = Parsed(source)
    for path in files:
        lines: list[int] = []
        ts: list[float] = []
        inp: list[int] = []
        outp: list[int] = []
        for rec in iter_records(path):
            out.records_in += 1
            if isinstance(rec, BadLine):
                out.reject(str(path), rec.line or "file", f"{rec.field + ': ' if rec.field else ''}{rec.reason}")
                continue
            line_no, r = rec
            bad = _arrival_problem(r)
            if bad is not None:
                out.reject(str(path), line_no, f"{bad[0]}: {bad[1]}")
                continue
            lines.append(line_no)
            ts.append(float(r["timestamp"]))
            inp.append(r["input_length"])
            outp.append(r["output_length"])
        out.records_accepted += len(lines)
        if lines:
            out.arrivals.append(_frame(source, path, lines, ts, inp, outp))
    return out
