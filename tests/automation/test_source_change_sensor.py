"""The source-change sensor, called through Dagster's build_sensor_context: a changed local file or a changed
ETag requests a refit of that source (and what it feeds in the sources and fits groups); nothing changed
requests nothing; the cursor carries the state between ticks and never holds a URL's credentials."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from agenttrace_pipeline.definitions import defs
from agenttrace_pipeline.defs.automation.sensors import source_change
from agenttrace_pipeline.sources.download import cache_path
from tests.automation.conftest import write_sources

REFIT_DOWNSTREAM = {"agent_turns", "tool_spans", "arrivals", "agent_sessions", "openhands_trace_shapes",
                    "distribution_fits", "generator_profiles"}


@pytest.fixture(scope="module")
def definitions() -> dg.Definitions:
    return defs()


def _tick(definitions: dg.Definitions, cursor: str | None) -> dg.SensorResult:
    with dg.instance_for_test() as instance:
        ctx = dg.build_sensor_context(instance=instance, cursor=cursor, definitions=definitions)
        result = source_change(ctx)
    assert isinstance(result, dg.SensorResult), result
    return result


def _requested(result: dg.SensorResult) -> list[set[str]]:
    return [{k.to_user_string() for k in r.asset_selection} for r in result.run_requests or []]


def test_local_file_change_requests_a_refit_and_unchanged_requests_nothing(
        isolated: Path, monkeypatch: pytest.MonkeyPatch, definitions: dg.Definitions):
    data = isolated / "trajs"
    data.mkdir()
    (data / "a.traj.json").write_text('{"messages": []}')
    monkeypatch.setenv("AGENTTRACE_SOURCES", str(write_sources(isolated / "mine.json", [f"{data}/*.traj.json"], [])))

    first = _tick(definitions, None)
    assert not first.run_requests and "baseline" in first.skip_reason.skip_message
    same = _tick(definitions, first.cursor)
    assert not same.run_requests and "no source changed" in same.skip_reason.skip_message

    (data / "a.traj.json").write_text('{"messages": [1]}')  # same name, new content
    changed = _tick(definitions, same.cursor)
    assert _requested(changed) == [{"mini_swe_agent_chat_raw", *REFIT_DOWNSTREAM}]
    assert changed.run_requests[0].tags["agenttrace/changed_sources"] == "mini_swe_agent_chat"
    assert not _tick(definitions, changed.cursor).run_requests  # the cursor kept the new state

    (data / "b.traj.json").write_text('{"messages": []}')  # a new file matching the glob is a change too
    assert _requested(_tick(definitions, changed.cursor))[0] >= {"mini_swe_agent_chat_raw", "generator_profiles"}


def test_url_etag_change_requests_a_refit_and_evicts_the_stale_download(
        isolated: Path, monkeypatch: pytest.MonkeyPatch, definitions: dg.Definitions, http_server):
    base, served = http_server
    monkeypatch.delenv("AGENTTRACE_OFFLINE")
    host = base.removeprefix("http://")
    url = f"http://user:s3cret@{host}/traces/run.jsonl?token=hunter2"
    monkeypatch.setenv("AGENTTRACE_SOURCES", str(write_sources(isolated / "mine.json", [], [url])))

    first = _tick(definitions, None)
    same = _tick(definitions, first.cursor)
    assert served.heads == 2 and not same.run_requests
    for secret in ("s3cret", "hunter2", "user:"):
        assert secret not in same.cursor

    stale = cache_path(url)
    stale.parent.mkdir(parents=True)
    stale.write_text("old copy")
    served.etag = '"v2"'
    changed = _tick(definitions, same.cursor)
    assert _requested(changed) == [{"agenttrace_raw", *REFIT_DOWNSTREAM}]
    assert not stale.exists(), "the refit would have re-read the stale cached copy"
    assert not _tick(definitions, changed.cursor).run_requests


def test_unreachable_url_is_not_a_change_and_its_warning_hides_secrets(
        isolated: Path, monkeypatch: pytest.MonkeyPatch, definitions: dg.Definitions, http_server, capfd):
    base, served = http_server
    monkeypatch.delenv("AGENTTRACE_OFFLINE")
    url = f"http://user:s3cret@{base.removeprefix('http://')}/run.jsonl?token=hunter2"
    monkeypatch.setenv("AGENTTRACE_SOURCES", str(write_sources(isolated / "mine.json", [], [url])))
    first = _tick(definitions, None)
    served.status = 503  # an outage must not look like a new version, nor wipe what we knew
    down = _tick(definitions, first.cursor)
    assert not down.run_requests
    warned = [line for line in capfd.readouterr().err.splitlines() if "HEAD failed" in line]  # Dagster logs to stderr
    assert warned and "/run.jsonl?…" in warned[0] and "503" in warned[0]
    assert not any(s in m for m in warned for s in ("s3cret", "hunter2", "user:"))
    served.status, served.etag = 200, '"v2"'
    assert _requested(_tick(definitions, down.cursor))[0] >= {"agenttrace_raw"}


def test_offline_mode_checks_no_url(isolated: Path, monkeypatch: pytest.MonkeyPatch,
                                    definitions: dg.Definitions, http_server):
    base, served = http_server
    monkeypatch.setenv("AGENTTRACE_SOURCES", str(write_sources(isolated / "mine.json", [], [f"{base}/run.jsonl"])))
    first = _tick(definitions, None)
    served.etag = '"v2"'
    assert not _tick(definitions, first.cursor).run_requests
    assert served.heads == 0


def test_invalid_source_list_skips_with_its_error(isolated: Path, monkeypatch: pytest.MonkeyPatch,
                                                  definitions: dg.Definitions):
    bad = isolated / "bad.json"
    bad.write_text('{"sources": [{"name": "x", "format": "nope"}]}')
    monkeypatch.setenv("AGENTTRACE_SOURCES", str(bad))
    with dg.instance_for_test() as instance:
        result = source_change(dg.build_sensor_context(instance=instance, definitions=definitions))
    assert isinstance(result, dg.SkipReason) and "bad.json" in result.skip_message and "unknown format" in result.skip_message
