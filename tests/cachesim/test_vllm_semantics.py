from __future__ import annotations

from agenttrace_pipeline.cachesim.blocks import build_blocks
from agenttrace_pipeline.cachesim.simulate import simulate
from agenttrace_pipeline.cachesim.workload import Workload


def _session(turns, block=16):
    """One session: turn 0 is ``turns[0]`` tokens in whole blocks, later entries are new tokens."""
    rows, nxt = [], 0
    for i, (inp, out) in enumerate(turns):
        k = -(-inp // block)
        row = {"session_id": "a", "input_length": inp, "output_length": out, "hash_ids": list(range(nxt, nxt + k))}
        row.update({"timestamp": 0.0} if i == 0 else {"delay": 0.0})
        rows.append(row)
        nxt += k
    return Workload.from_rows(rows, block_size=block)


def test_a_fully_cached_prompt_still_computes_its_last_token():
    w = Workload.from_rows([{"input_length": 32, "output_length": 1, "hash_ids": [1, 2]}] * 2, block_size=16)
    simple = simulate(w, capacity=None, theoretical=False).runs[0]
    vllm = simulate(w, semantics="vllm", capacity=None, theoretical=False).runs[0]
    assert simple.hit_tokens == 32
    assert vllm.hit_tokens == 16  # at most n-1 tokens can hit, in whole blocks


def test_the_reply_is_cached_and_hit_by_the_next_turn():
    w = _session([(32, 17), (15, 4)])
    s = build_blocks(w, "vllm")
    assert (s.n_prompt.tolist(), s.n_total.tolist()) == ([2, 4], [3, 4])
    run = simulate(w, semantics="vllm", capacity=None, theoretical=False).runs[0]
    assert run.per_request["hit_tokens"].tolist() == [0, 48]  # turn 1: the 32 prompt tokens + 16 of the reply's 17


def test_a_block_only_the_last_reply_token_completes_is_not_cached():
    # 32 + 16 = 48 tokens, but the last one is sampled, never computed: keys and values exist for 47 of them
    w = _session([(32, 16), (16, 4)])
    s = build_blocks(w, "vllm")
    assert (s.n_prompt.tolist(), s.n_total.tolist()) == ([2, 4], [2, 4])
    run = simulate(w, semantics="vllm", capacity=None, theoretical=False).runs[0]
    assert run.per_request["hit_tokens"].tolist() == [0, 32]
    simple = simulate(w, capacity=None, theoretical=False).runs[0]
    assert simple.per_request["hit_tokens"].tolist() == [0, 32]  # simple semantics ignores replies


def test_partial_blocks_are_not_cached_and_shift_the_chain():
    w = _session([(20, 4), (16, 1)])  # 24 tokens after turn 0: one full block; 40 tokens at turn 1
    s = build_blocks(w, "vllm")
    assert s.n_prompt.tolist() == [1, 2]
    run = simulate(w, semantics="vllm", capacity=None, theoretical=False).runs[0]
    assert run.per_request["hit_tokens"].tolist() == [0, 16]


def test_blocks_are_freed_in_reverse_so_the_prefix_survives_pressure():
    rows = [{"input_length": 64, "output_length": 1, "hash_ids": [1, 2, 3, 4]},
            {"input_length": 16, "output_length": 1, "hash_ids": [9]},
            {"input_length": 80, "output_length": 1, "hash_ids": [1, 2, 3, 4, 5]}]
    w = Workload.from_rows(rows, block_size=16)
    vllm = simulate(w, semantics="vllm", capacity=4, theoretical=False).runs[0]
    simple = simulate(w, semantics="simple", capacity=4, theoretical=False).runs[0]
    assert vllm.per_request["hit_tokens"][2] == 48  # block 4 went first, blocks 1-3 still lead the prompt
    assert simple.per_request["hit_tokens"][2] == 0  # forward order evicts block 1: the leading run is broken


def test_running_requests_blocks_are_pinned_in_open_loop():
    rows = [{"session_id": f"s{i}", "input_length": 64, "output_length": 500,
             "hash_ids": [10 * i + j for j in range(4)],
             "timestamp": float(i)} for i in range(3)]
    w = Workload.from_rows(rows, block_size=16)
    run = simulate(w, semantics="vllm", capacity=6, load="open", theoretical=False).runs[0]
    assert run.overcommits > 0  # three requests decode at once and hold 12 blocks > 6: nothing evictable
    assert run.evictions == 0 or run.evictions >= 6
