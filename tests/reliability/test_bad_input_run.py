"""A bad-input run through `agenttrace run --sources FILE`: every rejected record lands in `quarantine` (file,
line, field, reason), a source whose every record was rejected fails a named check that says so with the first
rejected lines, the rest of the pipeline still runs, and nothing crashes without a message."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agenttrace_pipeline.store.warehouse import Warehouse

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sources"
BAD_LINES = ["not json at all", '{"trace_id": "t1", "llm_steps": "oops"}', "[1, 2]"]


@pytest.mark.slow
def test_a_bad_input_run_quarantines_every_record_and_fails_a_named_check(isolated: Path,
                                                                          monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AGENTTRACE_SHARED_DATA", str(isolated / "no-shared-data"))  # bundled samples: quick
    bad = isolated / "my_traces.jsonl"
    bad.write_text("\n".join(BAD_LINES) + "\n")
    partly = FIXTURES / "wrong_types" / "agenttrace.jsonl"  # some records good, some not
    sources = isolated / "my_sources.json"
    sources.write_text(json.dumps({"sources": [
        {"name": "my_bad", "format": "agenttrace", "locations": [str(bad)]},
        {"name": "my_partly_bad", "format": "agenttrace", "locations": [str(partly)]}]}))

    # its own process, as a user runs it: the source assets are built from the sources file at import, so a
    # process that already imported them (this test session) would not see --sources
    result = subprocess.run([sys.executable, "-m", "agenttrace_pipeline.cli", "run", "--sources", str(sources)],
                            env=dict(os.environ), capture_output=True, text=True, timeout=600)
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert "Traceback" not in out  # a reported failure, no crash
    failed = [ln for ln in out.splitlines() if ln.startswith("FAILED ")]
    assert failed and all("my_bad_raw:some_records_accepted" in ln for ln in failed), out
    assert "all 3 records were rejected" in failed[0]
    assert f"{bad}:1 (record): invalid JSON" in out and f"{bad}:2 llm_steps" in out  # where to look
    assert "checks:" in out and "1 failed" in out
    assert "synthetic_dataset" in out  # the rest of the pipeline ran on the other sources

    wh = Warehouse()
    q = wh.query("SELECT record, field, reason FROM quarantine WHERE source = 'my_bad' ORDER BY record").rows()
    assert [r[0] for r in q] == ["1", "2", "3"] and q[1][1] == "llm_steps" and all(r[2] for r in q)
    stats = wh.query("SELECT source, records_in, records_accepted, records_quarantined FROM source_ingest_stats "
                     "WHERE source LIKE 'my_%' ORDER BY source").rows()
    assert stats[0] == ("my_bad", 3, 0, 3)
    partly_in, partly_ok, partly_q = stats[1][1:]
    assert partly_ok > 0 and partly_q > 0 and partly_in == partly_ok + partly_q  # every rejected record accounted
    assert wh.query("SELECT count(*) FROM quarantine WHERE source = 'my_partly_bad'").item() == partly_q
    assert wh.query("SELECT count(*) FROM synthetic_datasets").item() == 1
