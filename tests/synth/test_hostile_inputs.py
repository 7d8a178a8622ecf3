"""Broken configs and arguments fail fast, with one clear line, and leave nothing behind (issue 9)."""

from __future__ import annotations

import errno
import os
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agenttrace_pipeline.cli import app
from tests.conftest import FIXTURES

CONFIGS = FIXTURES / "configs"
runner = CliRunner()


def synth(root: Path, *args: str):
    return runner.invoke(app, ["synthesize", "agentic-code", "--output", str(root), *args])


def everything_under(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*")) if path.exists() else []


def assert_failed_cleanly(result, root: Path, code: int, *messages: str) -> None:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    for m in messages:
        assert m in result.output, result.output
    assert not [p for p in everything_under(root) if not p.startswith("default_")], everything_under(root)


@pytest.mark.parametrize(("fixture", "messages"), [
    ("typo_top_level.json", ["typo_top_level.json:1: (config): unknown field 'max_promt_tokens' "
                             "(did you mean 'max_prompt_tokens'?)"]),
    ("typo_nested.json", ["typo_nested.json:3: reset: unknown field 'base_probabilty' "
                          "(did you mean 'base_probability'?)"]),
    ("block_size_bool.json", ["block_size: Input should be a valid integer"]),
    ("block_size_string.json", ["block_size: Input should be a valid integer"]),
    ("minimums_above_max.json", ["no session can reach a second turn", "new_tokens_per_turn: 28,000",
                                 "max_prompt_tokens (60,000)"]),
    ("restart_range_huge.json", ["restart_turn_range must be [lo, hi) with 1 <= lo < hi <= 100,000"]),
    ("restart_turn_unreachable.json", ["restart_turn_range starts at turn 20,000", "no restart would ever happen"]),
    ("poisson_rate_tiny.json", ["arrival.rate_per_s: Input should be greater than or equal to 0.000001"]),
    ("num_groups_huge.json", ["cache.layer1_5_groups.num_groups: Input should be less than or equal to 1000000"]),
    ("empty_range_table.json", ["generation_length: Value error, [min, max] = [10.0, None] holds 0 of this "
                                "empirical distribution's probability"]),
    ("duplicate_key.json", ["cannot read config (duplicate key 'generation_length')"]),
    ("arrival_trace_missing.json", ["arrival.trace: arrival trace", "no_such_trace.jsonl does not exist"]),
    ("arrival_trace_not_a_trace.json", ["arrival.trace: arrival trace", "is not a trace"]),
])
def test_a_broken_config_is_one_clear_error_before_any_work(tmp_path: Path, fixture: str, messages: list[str]):
    root = tmp_path / "out"
    t0 = time.perf_counter()
    result = synth(root, "--config", str(CONFIGS / fixture), "--num-sessions", "200")
    assert_failed_cleanly(result, root, 1, "config error", *messages)
    assert everything_under(root) == []
    assert time.perf_counter() - t0 < 10  # nothing was generated


@pytest.mark.parametrize(("args", "message"), [
    (["--num-sessions", "1000000000"], "num_sessions must be an integer from 1 to 100,000,000"),
    (["--num-sessions", "0"], "num_sessions must be an integer from 1 to 100,000,000"),
    (["--seed", str(2**64)], "seed must be an integer from 0 to 2**64 - 1"),
    (["--seed", "-1"], "seed must be an integer from 0 to 2**64 - 1"),
])
def test_arguments_out_of_range_fail_before_generating(tmp_path: Path, args: list[str], message: str):
    root = tmp_path / "out"
    result = synth(root, *args)
    assert_failed_cleanly(result, root, 1, "invalid argument", message)
    assert not root.exists()


def test_the_largest_seed_works(tmp_path: Path):
    result = synth(tmp_path, "--seed", str(2**64 - 1), "--num-sessions", "20")
    assert result.exit_code == 0, result.output


def test_output_pointing_at_a_file(tmp_path: Path):
    target = tmp_path / "a-file"
    target.write_text("keep me")
    result = synth(target, "--num-sessions", "20")
    assert_failed_cleanly(result, tmp_path / "nothing", 2, f"output folder {target} is a file, not a folder")
    assert target.read_text() == "keep me"


def test_an_unwritable_output_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    root = tmp_path / "ro"
    root.mkdir()
    real = os.access
    # as root every folder is writable, so the check that guards a real read-only folder is made to see one
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if Path(p) == root and mode & os.W_OK
                        else real(p, mode, **kw))
    result = synth(root, "--num-sessions", "20")
    assert_failed_cleanly(result, root, 2, f"output folder {root} is not writable")


def test_a_full_disk_mid_write_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import agenttrace_pipeline.store.atomic as atomic

    def full(self, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic.HashingWriter, "write", full)
    result = synth(tmp_path / "out", "--num-sessions", "50")
    assert_failed_cleanly(result, tmp_path / "out", 2, "disk full while writing", "nothing was kept")
    assert everything_under(tmp_path / "out") == []


def test_a_run_larger_than_the_free_space_is_refused_unless_told(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import shutil

    import agenttrace_pipeline.synth.preflight as preflight

    monkeypatch.setattr(preflight.shutil, "disk_usage", lambda p: shutil._ntuple_diskusage(10**9, 10**9 - 5000, 5000))
    root = tmp_path / "out"
    refused = synth(root, "--num-sessions", "2000")
    assert_failed_cleanly(refused, root, 2, "the dataset would be about", "only 5.0 KB are free", "--yes")
    assert [p for p in everything_under(root)] == []
    assert synth(root, "--num-sessions", "2000", "--yes").exit_code == 0


def test_an_explicit_byte_limit_refuses_up_front_and_stops_a_run_that_outgrows_it(tmp_path: Path,
                                                                                   monkeypatch: pytest.MonkeyPatch):
    root = tmp_path / "out"
    up_front = synth(root, "--num-sessions", "2000", "--max-bytes", "100K")
    assert_failed_cleanly(up_front, root, 2, "above the limit of 100.0 KB (--max-bytes)")
    import agenttrace_pipeline.synth.generate as generate

    monkeypatch.setattr(generate, "estimate_bytes", lambda *a: 1)  # an estimate that was wrong
    stopped = synth(root, "--num-sessions", "2000", "--max-bytes", "100K")
    assert_failed_cleanly(stopped, root, 2, "would exceed the output limit of 100,000 bytes", "nothing was kept")
    assert everything_under(root) == []
