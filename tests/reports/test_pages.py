"""Pages written from a generated run: files, sizes, escaping, errors, and the Python side of the checks."""

from __future__ import annotations

import shutil
from pathlib import Path

import orjson
import pytest

from agenttrace_pipeline.cachesim.simulate import run_one
from agenttrace_pipeline.reports import PAGES, write_pages
from agenttrace_pipeline.reports.data import RunDirError, load_run
from agenttrace_pipeline.reports.explorer_page import records
from agenttrace_pipeline.reports.html import embed_json
from agenttrace_pipeline.reports.simulation_page import reference_hit_rate, sample


def test_write_pages_writes_three_bounded_pages(run_dir: Path) -> None:
    res = write_pages(run_dir)
    assert [p.name for p in res.paths] == list(PAGES)
    for p in res.paths:
        text = p.read_text()
        assert p.stat().st_size < 5_000_000
        assert "<svg" in text and "http://" not in text.replace("http://www.w3.org/2000/svg", "")
    assert res.bytes == sum(p.stat().st_size for p in res.paths)


def test_untrusted_names_are_escaped(run_dir: Path, tmp_path: Path) -> None:
    d = tmp_path / "run"
    shutil.copytree(run_dir, d)
    man = orjson.loads((d / "manifest.json").read_bytes())
    man["config_name"] = "<img src=x onerror=alert(1)>"
    (d / "manifest.json").write_bytes(orjson.dumps(man))
    write_pages(d)
    for name in PAGES:
        assert "<img src=x" not in (d / name).read_text()
    assert "</script>" not in embed_json({"id": "</script><script>alert(1)"})


def test_missing_quality_names_the_file(run_dir: Path, tmp_path: Path) -> None:
    d = tmp_path / "run"
    shutil.copytree(run_dir, d)
    (d / "quality.json").unlink()
    with pytest.raises(RunDirError, match="quality.json: missing"):
        write_pages(d)


def test_explorer_records_cover_every_session_and_turn(run_dir: Path) -> None:
    data = load_run(run_dir)
    recs = records(data)
    w = data.workload
    assert len(recs) == w.n_sessions
    for s in (0, w.n_sessions - 1):
        head, later, hits = recs[s].split("|")
        turns = int(w.sess_first[s + 1] - w.sess_first[s])
        assert len(hits.split(",")) == turns and len(later.split(",") if later else []) == turns - 1
        assert sum(map(int, head.split(","))) == w.ids_off[w.sess_first[s] + 1] - w.ids_off[w.sess_first[s]]
    # later turns of a session find its whole earlier context cached (infinite cache)
    assert int(recs[0].split("|")[2].split(",")[1]) == sum(map(int, recs[0].split("|")[0].split(",")))


def test_page_schedule_one_in_flight_is_file_order(run_dir: Path) -> None:
    prep = sample(load_run(run_dir))
    file_order = run_one(prep, policy="lru", capacity=200, residency=False).hit_rate
    assert reference_hit_rate(prep, capacity=200, policy="lru", conc=1) == pytest.approx(file_order, abs=1e-12)
    assert reference_hit_rate(prep, capacity=200, policy="lru", conc=16) < file_order
