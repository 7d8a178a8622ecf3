from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import orjson
import pytest

from agenttrace_pipeline.cachesim.simulate import simulate
from agenttrace_pipeline.cachesim.workload import Workload
from agenttrace_pipeline.synth.config import load_config, parse_config
from agenttrace_pipeline.synth.generate import synthesize
from agenttrace_pipeline.trace.reader import TraceReadError


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    """A small generated dataset with a grouped L1.5 layer, so all four layers exist."""
    _, base = load_config("default")
    data = base.to_json_dict()
    data["cache"] = {**data["cache"], "layer1_5_tokens": 4000, "layer1_5_groups": {"num_groups": 3, "zipf_alpha": 1.0}}
    res = synthesize(parse_config(data), num_sessions=150, seed=3, output_root=tmp_path_factory.mktemp("gen"),
                     run_name="run")
    return res.dataset


def test_layers_from_the_manifest_and_derived_from_rows_agree(generated: Path, tmp_path: Path):
    with_manifest = Workload.from_file(generated)
    alone = tmp_path / "dataset.jsonl"
    shutil.copy(generated, alone)
    derived = Workload.from_file(alone)
    assert (with_manifest.layer_source, derived.layer_source) == ("manifest", "derived")
    assert np.array_equal(with_manifest.id_layer, derived.id_layer)
    counts = np.bincount(with_manifest.id_layer, minlength=4)
    assert all(counts > 0)


def test_report_breaks_hits_down_by_layer_and_turn(generated: Path):
    rep = simulate(generated, capacity=[2000], load="closed", concurrency=16)
    run, theo = rep.runs[0], rep.theoretical
    lay = run.by_layer
    assert sum(d["prompt_tokens"] for d in lay.values()) == run.prompt_tokens
    assert sum(d["hit_tokens"] for d in lay.values()) == run.hit_tokens
    assert lay["L1"]["hit_rate"] > lay["L2"]["hit_rate"]  # the shared prefix is reused by every session
    assert theo.by_layer["L3"]["hit_rate"] >= lay["L3"]["hit_rate"]
    turns = run.by_turn
    assert turns[0]["turn"] == 0 and sum(t["requests"] for t in turns) == run.requests
    assert turns[1]["hit_rate"] > turns[0]["hit_rate"]  # later turns reuse their own history
    rows = rep.layer_rows()
    assert {r["layer"] for r in rows} == {"L1", "L1.5", "L2", "L3"} and rows[0]["capacity"] is None


def test_vllm_semantics_on_a_generated_dataset_counts_replies_in_the_prompt(generated: Path):
    simple = simulate(generated, capacity=None, theoretical=False).runs[0]
    vllm = simulate(generated, semantics="vllm", capacity=None, theoretical=False).runs[0]
    assert vllm.prompt_tokens > simple.prompt_tokens  # prompts carry the previous replies
    assert vllm.hit_rate > simple.hit_rate  # and those replies hit, as on a real vLLM


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    return path


def test_bad_rows_name_file_line_and_field(tmp_path: Path):
    good = {"session_id": "a", "input_length": 600, "output_length": 5, "hash_ids": [1, 2], "timestamp": 0.0}
    bad = _write(tmp_path / "t.jsonl", [good, {**good, "session_id": "b", "hash_ids": [3]}])
    with pytest.raises(TraceReadError, match=r"t\.jsonl:2: hash_ids: must cover input_length"):
        Workload.from_file(bad)
    split = _write(tmp_path / "s.jsonl", [good, {**good, "session_id": "b"}, {**good, "timestamp": None, "delay": 1.0}])
    with pytest.raises(TraceReadError, match=r"s\.jsonl:3: session_id: 'a' reappears"):
        Workload.from_file(split)
    neg = _write(tmp_path / "n.jsonl", [{**good, "output_length": 0}])
    with pytest.raises(TraceReadError, match=r"n\.jsonl:1: output_length"):
        Workload.from_file(neg)
    broken = tmp_path / "b.jsonl"
    broken.write_bytes(orjson.dumps(good) + b"\n{not json\n")
    with pytest.raises(TraceReadError, match=r"b\.jsonl:2"):
        Workload.from_file(broken)


def test_in_memory_arrays_match_the_file(generated: Path):
    rows = [orjson.loads(line) for line in generated.read_bytes().splitlines()]
    mem = Workload.from_arrays([r["session_id"] for r in rows], [r["hash_ids"] for r in rows],
                               [r["input_length"] for r in rows], [r["output_length"] for r in rows],
                               [r.get("timestamp", 0.0) for r in rows], [r.get("delay", 0.0) for r in rows],
                               layer_ranges=Workload.from_file(generated).layer_ranges)
    a = simulate(mem, capacity=[500], theoretical=False).runs[0]
    b = simulate(generated, capacity=[500], theoretical=False).runs[0]
    assert (a.hit_tokens, a.prompt_tokens, a.by_layer) == (b.hit_tokens, b.prompt_tokens, b.by_layer)
