"""sources.json and a user's own sources file: strict models whose errors name the file and the field, and the
extend / replace rules of AGENTTRACE_SOURCES."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agenttrace_pipeline.sources.config import SourceConfigError, default_config_path, load_sources


def _write(path: Path, data) -> Path:
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


@pytest.mark.parametrize(("sources", "message"), [
    ([{"name": "x", "format": "nope"}], r"sources\[0\]\.format \(source 'x'\): unknown format 'nope'; one of \["),
    ([{"name": "x", "format": "tracelab"}, {"name": "x", "format": "tracelab"}], r"must be unique; repeated: \['x'\]"),
    ([{"format": "tracelab"}], r"sources\[0\]\.name: Field required"),
    ([{"name": "a b", "format": "tracelab"}], r"sources\[0\]\.name \(source 'a b'\): String should match pattern"),
    ([{"name": "x", "format": "tracelab", "locatons": []}],
     r"sources\[0\]\.locatons \(source 'x'\): unknown field 'locatons' \(did you mean 'locations'\?\)"),
    ([{"name": "x", "format": "tracelab", "optional": "yes"}], r"sources\[0\]\.optional \(source 'x'\): Input should be a valid boolean"),
    ([{"name": "x", "format": "tracelab", "context_window": "200000"}],
     r"sources\[0\]\.context_window \(source 'x'\): Input should be a valid integer"),
    ([{"name": "x", "format": "tracelab", "context_window": 0}], r"context_window \(source 'x'\): Input should be greater than 0"),
    ([{"name": "x", "format": "tracelab", "sha256": {"https://h/x": "abc"}}], r"sources\[0\]\.sha256\.https://h/x"),
])
def test_bad_source_lists_name_the_file_and_field(tmp_path: Path, sources, message):
    f = _write(tmp_path / "sources.json", {"sources": sources})
    with pytest.raises(SourceConfigError, match=message) as err:
        load_sources(f)
    assert str(err.value).startswith(f"{f}: ")


def test_unreadable_and_duplicate_key_files_say_so(tmp_path: Path):
    with pytest.raises(SourceConfigError, match=r"nowhere\.json: cannot read the source list"):
        load_sources(tmp_path / "nowhere.json")
    f = _write(tmp_path / "dup.json", '{"sources": [{"name": "a", "format": "tracelab", "name": "b"}]}')
    with pytest.raises(SourceConfigError, match=r"dup\.json: not a valid source list: duplicate key 'name'"):
        load_sources(f)
    f = _write(tmp_path / "top.json", {"sources": [], "mode": "merge", "extra": 1})
    with pytest.raises(SourceConfigError, match=r"mode: Input should be 'extend' or 'replace'") as err:
        load_sources(f)
    assert "top.json: extra: unknown field 'extra'" in str(err.value)


def test_context_window_is_read_and_optional(tmp_path: Path):
    f = _write(tmp_path / "s.json", {"sources": [{"name": "a", "format": "tracelab", "context_window": 200_000},
                                                 {"name": "b", "format": "tracelab"}]})
    assert [s.context_window for s in load_sources(f)] == [200_000, None]


def test_a_user_file_extends_the_bundled_list_and_replaces_by_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    bundled = load_sources(default_config_path())
    mine = _write(tmp_path / "mine.json", {"sources": [
        {"name": "my_logs", "format": "claude_code", "locations": ["logs/*.jsonl", "/abs/x.jsonl", "${project}/y"],
         "context_window": 200_000},
        {"name": "tracelab_rounds", "format": "tracelab", "locations": ["rounds.jsonl"]}]})
    monkeypatch.setenv("AGENTTRACE_SOURCES", str(mine))
    specs = {s.name: s for s in load_sources()}
    assert list(specs) == [s.name for s in bundled] + ["my_logs"]
    # a relative location is relative to the file that names it
    assert specs["my_logs"].locations == (str(tmp_path / "logs/*.jsonl"), "/abs/x.jsonl", "${project}/y")
    assert specs["tracelab_rounds"].locations == (str(tmp_path / "rounds.jsonl"),)
    assert specs["my_logs"].context_window == 200_000


def test_a_user_file_in_replace_mode_is_the_whole_list(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    mine = _write(tmp_path / "mine.json", {"mode": "replace", "sources": [{"name": "only", "format": "tracelab"}]})
    monkeypatch.setenv("AGENTTRACE_SOURCES", str(mine))
    assert [s.name for s in load_sources()] == ["only"]
    monkeypatch.setenv("AGENTTRACE_SOURCES", str(tmp_path / "missing.json"))
    with pytest.raises(SourceConfigError, match=r"missing\.json: cannot read the source list"):
        load_sources()
