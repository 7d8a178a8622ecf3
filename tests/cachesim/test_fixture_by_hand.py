"""A three-request trace (block size 4) whose hit rates are worked out by hand in the comments."""

from __future__ import annotations

from pathlib import Path

from agenttrace_pipeline.cachesim.simulate import simulate
from agenttrace_pipeline.cachesim.workload import Workload

FIXTURE = Path(__file__).parent.parent / "fixtures" / "cachesim" / "two_sessions.jsonl"


def test_simple_semantics_by_hand():
    # a0 [0,1,2] (4+4+2 tokens): nothing cached. a1 [0,1,2,3,4]: 0,1,2 cached = 10 of 15 tokens.
    # b0 [0,1,5]: 0,1 cached = 8 of 9 tokens. 18 / 34.
    w = Workload.from_file(FIXTURE, block_size=4)
    run = simulate(w, capacity=None, theoretical=False).runs[0]
    assert (run.hit_tokens, run.prompt_tokens) == (18, 34)
    assert run.per_request["hit_tokens"].tolist() == [0, 10, 8]
    assert run.by_layer["L1"]["hit_tokens"] == 16  # ids 0 and 1 open both sessions: the shared prefix
    assert run.by_layer["L3"]["prompt_tokens"] == 5


def test_vllm_semantics_by_hand():
    # Stream of a: id0 | id1 | id2 (2) + reply (3) | id3 (4) + id4 (1) + reply (2), cut every 4 tokens.
    # a0: 10 prompt tokens, 2 full blocks, nothing cached; when it ends, block 3 (id2 + 2 reply tokens) is.
    # a1: 18 prompt tokens (the reply is in the prompt), 4 full blocks, the first 3 cached = 12 tokens.
    # b0: 9 prompt tokens, 2 full blocks with the same chain as a's first two = 8 tokens. 20 / 37.
    w = Workload.from_file(FIXTURE, block_size=4)
    run = simulate(w, semantics="vllm", capacity=None, theoretical=False).runs[0]
    assert (run.hit_tokens, run.prompt_tokens) == (20, 37)
    assert run.per_request["hit_tokens"].tolist() == [0, 12, 8]
