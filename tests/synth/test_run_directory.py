"""Run directories never leave their output root, never replace what is not ours, and never outlive a failure."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from agenttrace_pipeline.cli import app
from agenttrace_pipeline.synth.engine import GenerationError
from agenttrace_pipeline.synth.generate import InvalidDataset, synthesize
from agenttrace_pipeline.synth.rundir import MARKER, SynthesisError, safe_name
from tests.conftest import FIXTURES
from tests.synth.helpers import config, generate

CONFIGS = FIXTURES / "configs"
runner = CliRunner()


def tree(path: Path) -> set[str]:
    return {str(p.relative_to(path)) for p in path.rglob("*")}


def dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


@pytest.mark.parametrize("ref", ["name_traversal.json", "name_absolute.json", "foreign_manifest/manifest.json"])
def test_a_hostile_name_stays_inside_the_output_root(tmp_path: Path, ref: str):
    root = tmp_path / "a" / "b" / "c" / "out"
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "precious.txt").write_text("do not delete")
    before = tree(tmp_path)
    result = runner.invoke(app, ["synthesize", "agentic-code", "--output", str(root), "--num-sessions", "20",
                                 "--config", str(CONFIGS / ref)])
    assert result.exit_code == 0, result.output
    created = tree(tmp_path) - before
    assert created and all(p.startswith("a/b/c/out") or p in ("a", "a/b", "a/b/c") for p in created), created
    (run,) = root.iterdir()
    assert run.name.split("_20s_")[0] in ("victim", "tmp_absolute-victim")
    assert (victim / "precious.txt").read_text() == "do not delete"


def test_safe_names():
    assert safe_name("../../../victim") == "victim"
    assert safe_name("/etc/cron.d/x") == "etc_cron.d_x"
    assert safe_name("..") == "config" and safe_name("") == "config"
    assert safe_name("fitted_mini_swe_agent_chat") == "fitted_mini_swe_agent_chat"


def test_an_unsafe_run_name_is_refused(tmp_path: Path):
    with pytest.raises(SynthesisError, match="is not a safe directory name"):
        synthesize(config(), num_sessions=5, seed=1, output_root=tmp_path / "out", run_name="../escape")
    assert not (tmp_path / "escape").exists() and not (tmp_path / "out").exists()


def test_a_rerun_replaces_its_own_directory_but_never_a_foreign_one(tmp_path: Path):
    first = generate(tmp_path, n=20, seed=1, name="same")
    again = generate(tmp_path, n=20, seed=2, name="same")
    assert again.run_dir == first.run_dir and orjson.loads((again.run_dir / "manifest.json").read_bytes())["seed"] == 2
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("a user's folder")
    with pytest.raises(SynthesisError, match="refusing to replace .*mine: it is not a run directory"):
        generate(tmp_path, n=20, name="mine")
    assert (mine / "notes.txt").read_text() == "a user's folder"
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir()
    (tmp_path / "linked").symlink_to(outside, target_is_directory=True)
    with pytest.raises(SynthesisError, match="refusing to replace"):
        generate(tmp_path, n=20, name="linked")
    assert outside.is_dir() and (tmp_path / "linked").is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["linked", "mine", "same"]


def test_leftovers_of_a_killed_run_are_cleaned_and_only_ours(tmp_path: Path):
    def leftover(name: str, pid: int | None, manifest: bool = False) -> Path:
        d = tmp_path / name
        d.mkdir()
        (d / ".dataset.jsonl.x1y2.tmp").write_bytes(b"{}")
        if pid is not None:
            (d / MARKER).write_bytes(orjson.dumps({"pid": pid, "host": socket.gethostname(), "started": 0}))
        if manifest:
            (d / "manifest.json").write_bytes(orjson.dumps({"tool": "agenttrace_pipeline", "generator": "agentic-code"}))
        return d

    killed = leftover(".default_99s_seed1.partial", dead_pid())
    replaced = leftover(f".old_run.old-{dead_pid()}", None, manifest=True)
    running = leftover(".busy.partial", os.getpid())
    foreign = leftover(".someone-elses.partial", None)
    generate(tmp_path, n=10, name="next")
    assert not killed.exists() and not replaced.exists()
    assert running.exists() and foreign.exists()


def test_a_failure_mid_run_leaves_nothing(tmp_path: Path):
    hopeless = config(turns={"mean": 400, "median": 300, "min": 200, "max_session_attempts": 2}, reset=None,
                      restart_initial_probability=0, max_prompt_tokens=60000)
    with pytest.raises(GenerationError, match="did not fit below max_prompt_tokens=60000"):
        generate(tmp_path, hopeless, n=50)
    assert list(tmp_path.iterdir()) == []


def test_an_interrupted_run_leaves_nothing(tmp_path: Path):
    def interrupt(done: int):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        synthesize(config(), num_sessions=50, seed=1, output_root=tmp_path, run_name="r", progress=interrupt)
    assert list(tmp_path.iterdir()) == []


def test_an_invalid_dataset_is_not_published(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import agenttrace_pipeline.synth.generate as gen
    from agenttrace_pipeline.trace.validator import validate_file

    def broken(path, *a, **kw):  # the validator sees a file whose first row lost its hash ids
        lines = Path(path).read_bytes().splitlines(keepends=True)
        bad = tmp_path.parent / f"{tmp_path.name}-bad.jsonl"
        bad.write_bytes(lines[0].replace(b'"hash_ids":[', b'"hash_ids":[[') + b"".join(lines[1:]))
        return validate_file(bad, *a, **kw)

    monkeypatch.setattr(gen, "validate_file", broken)
    with pytest.raises(InvalidDataset, match=r"failed validation .* the run directory was removed"):
        synthesize(config(), num_sessions=20, seed=1, output_root=tmp_path / "out", run_name="r")
    assert list((tmp_path / "out").iterdir()) == []
