"""One bad trace must not stop the run: the turn contract is applied per trace before staging, and a trace that
breaks it (or that the canonical schema cannot store) is quarantined record by record, with the rule, the turn
and where it came from; the rest of the source is kept."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from agenttrace_pipeline.sources import contract
from agenttrace_pipeline.sources.canonical import Parsed, turn
from agenttrace_pipeline.sources.checks import failures, locate
from agenttrace_pipeline.sources.registry import SourceSpec, ingest, summary

F = Path(__file__).resolve().parents[1] / "fixtures" / "sources" / "contract"


def test_a_trace_that_breaks_a_rule_is_quarantined_with_every_record_that_built_it():
    res, parsed = ingest(SourceSpec("tl", "tracelab", (str(F / "tracelab.jsonl"),)))
    turns = parsed.turns_frame()
    assert turns["trace_id"].unique().to_list() == ["s-good"] and turns.height == 2
    assert all(f.height == 0 for f in failures(turns).values())
    rows = {q["record"]: q for q in parsed.quarantine}
    assert set(rows) == {"2", "4", "5"}  # the three rounds of s-shrinks
    assert {q["field"] for q in rows.values()} == {"prompt_tokens"}
    assert f"prompt_tokens_grow_except_at_context_resets at turn 1 ({F / 'tracelab.jsonl'}:4)" in rows["2"]["reason"]
    stats = summary(parsed)
    assert (stats["records_in"], stats["records_accepted"], stats["records_quarantined"]) == (5, 2, 3)
    assert stats["quarantined_traces"] == 1


def test_a_turn_that_starts_before_the_previous_one_quarantines_its_trace():
    _, parsed = ingest(SourceSpec("at", "agenttrace", (str(F / "agenttrace.jsonl"),)))
    [q] = parsed.quarantine
    assert (q["record"], q["field"]) == ("2", "started_at")
    assert "timestamps_are_monotone_within_a_trace at turn 2" in q["reason"]
    assert parsed.turns_frame()["trace_id"].unique().to_list() == ["ct-good"]


def test_a_value_the_schema_cannot_store_quarantines_its_trace_not_the_source():
    p = Parsed("s")
    for trace, model in (("ok", "m"), ("bad", {"name": "m"})):
        p.records_in += 1
        p.turns.append(turn("s", trace, 0, model=model, prompt_tokens=10, file="f.jsonl", record="1"))
        p.accept("f.jsonl", trace, trace)
    contract.enforce(p)
    assert [t["trace_id"] for t in p.turns] == ["ok"] and p.turns_frame().height == 1
    [q] = p.quarantine
    assert (q["record"], q["field"]) == ("bad", "model") and "cannot be stored as String" in q["reason"]
    assert p.records_in == p.records_accepted + len(p.quarantine)


def test_locate_gives_file_line_and_source_trace_turn():
    rows = pl.DataFrame({"source": ["s"], "trace_id": ["t1"], "turn_index": [3], "file": ["/x/a.jsonl"], "record": ["17"]})
    assert locate(rows) == ["/x/a.jsonl:17 (s/t1/3)"]
    assert locate(rows.with_columns(file=pl.lit(None, pl.String))) == ["?:17 (s/t1/3)"]
