from __future__ import annotations

from pathlib import Path

import pytest

from agenttrace_pipeline.cachesim.prefix_hits import prefix_hit_stats, prompts_of
from agenttrace_pipeline.trace.reader import iter_rows


def test_leading_run_counts_full_blocks_and_the_partial_tail():
    reqs = [([0, 1], 600), ([0, 1], 600), ([0, 2, 3], 1100)]
    s = prefix_hit_stats(reqs, block_size=512)
    # request 2 hits all 600 tokens; request 3 only its first block (512); the first request nothing
    assert (s.hit_tokens, s.input_tokens) == (1112, 2300)


def test_lru_evicts_least_recently_used_blocks():
    reqs = [([0], 512), ([1], 512), ([0], 512), ([2], 512), ([1], 512)]
    assert prefix_hit_stats(reqs, capacity=2).hit_tokens == 512  # only the second [0]


def test_multi_turn_prompts_accumulate_per_session():
    rows = [{"session_id": "a", "hash_ids": [0, 1], "input_length": 1024},
            {"session_id": "a", "hash_ids": [2], "input_length": 100},
            {"session_id": "b", "hash_ids": [0, 5], "input_length": 1000}]
    assert list(prompts_of(rows)) == [([0, 1], 1024), ([0, 1, 2], 1124), ([0, 5], 1000)]


@pytest.mark.parametrize(("name", "infinite", "lru6000"), [("conversation", 0.374, 0.141), ("synthetic", 0.651, 0.316)])
def test_fast25_hit_rates_match_the_published_recomputation(shared_data: Path, name, infinite, lru6000):
    rows = [r for _, r in iter_rows(shared_data / "mooncake" / f"{name}_trace.jsonl")]
    assert prefix_hit_stats(prompts_of(rows)).hit_rate == pytest.approx(infinite, abs=0.005)
    assert prefix_hit_stats(prompts_of(rows), capacity=6000).hit_rate == pytest.approx(lru6000, abs=0.005)
