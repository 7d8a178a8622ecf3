"""Arrival-only traces → the ``arrivals`` table (request time, input and output tokens).

* Azure LLM inference CSV (``TIMESTAMP,ContextTokens,GeneratedTokens``, absolute times with up to 7
  fractional digits).
* Mooncake FAST'25 JSONL (``timestamp`` ms, ``input_length``, ``output_length``).

Times become milliseconds from the file's first request. Rows with unparsable or negative values are
quarantined with their line.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from agenttrace_pipeline.sources.canonical import ARRIVAL_SCHEMA, Parsed
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
    ).cast(ARRIVAL_SCHEMA)


def read_azure(files: list[Path], source: str) -> Parsed:
    out = Parsed(source)
    for path in files:
        try:
            raw = pl.read_csv(path, infer_schema=False)
        except Exception as exc:  # polars: unreadable or not CSV
            out.records_in += 1
            out.reject(str(path), "file", f"cannot read CSV: {exc}")
            continue
        missing = {"TIMESTAMP", "ContextTokens", "GeneratedTokens"} - set(raw.columns)
        if missing:
            out.records_in += raw.height or 1
            out.reject(str(path), "header", f"missing columns {sorted(missing)}")
            continue
        df = raw.with_row_index("line", offset=2).with_columns(
            pl.col("TIMESTAMP").str.strptime(pl.Datetime("ns"), "%Y-%m-%d %H:%M:%S%.f", strict=False).alias("ts"),
            pl.col("ContextTokens").cast(pl.Int64, strict=False).alias("inp"),
            pl.col("GeneratedTokens").cast(pl.Int64, strict=False).alias("out"),
        )
        ok = pl.col("ts").is_not_null() & (pl.col("inp") >= 0) & (pl.col("out") >= 0)
        out.records_in += df.height
        for r in df.filter(~ok.fill_null(False)).iter_rows(named=True):
            out.reject(str(path), r["line"], f"bad row: TIMESTAMP={r['TIMESTAMP']!r} ContextTokens={r['ContextTokens']!r} "
                                             f"GeneratedTokens={r['GeneratedTokens']!r}")
        good = df.filter(ok.fill_null(False))
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
        lines, ts, inp, outp = [], [], [], []
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
            lines.append(line_no), ts.append(float(r["timestamp"])), inp.append(r["input_length"])
            outp.append(r["output_length"])
        out.records_accepted += len(lines)
        if lines:
            out.arrivals.append(_frame(source, path, lines, ts, inp, outp))
    return out
