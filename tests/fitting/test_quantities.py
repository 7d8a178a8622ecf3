"""What is fitted: L2 beyond the shared prefix, output lengths without usage snapshots, the trace split."""

from __future__ import annotations

import numpy as np
import polars as pl

from agenttrace_pipeline.fitting.holdout import training_column
from agenttrace_pipeline.fitting.quantities import source_data
from tests.fitting.helpers import agent_turns


def test_layer2_is_the_turn0_prompt_minus_a_shared_prefix_shorter_than_a_block():
    # mini-swe-agent's shared prefix is 320 cached tokens: rounding it down to whole 512-token blocks made
    # it 0, and L2 was then the whole turn-0 prompt
    data = source_data("a", agent_turns("a", 30, prefix=320))
    assert data.layer1_tokens == 320 and data.layer1_basis == "median turn-0 cached tokens"
    # the generator puts L1 in whole blocks (512) and adds L2: together they give the turn-0 prompt back
    assert np.array_equal(data.values["layer2_tokens"], data.values["initial_context"] - 512)


def test_output_length_fits_leave_out_streaming_usage_snapshots():
    turns = agent_turns("a", 30, snapshot_every=4)
    snapshots = int(turns["usage_snapshot"].sum())
    data = source_data("a", turns)
    assert snapshots > 50
    assert data.values["output_tokens"].size == turns.height - snapshots
    assert np.median(data.values["output_tokens"]) > 50  # with the snapshots (2 tokens each) it would sink


def test_the_split_holds_out_whole_traces_deterministically():
    turns = agent_turns("a", 400)
    flags = turns.with_columns(training_column(turns).alias("train"))
    per_trace = flags.group_by("trace_id").agg(pl.col("train").n_unique().alias("k"), pl.col("train").first())
    assert (per_trace["k"] == 1).all()  # a trace is never split
    assert 0.64 < per_trace["train"].mean() < 0.76
    # the same trace is held out whatever else is in the set (its source alone, or pooled with others)
    pooled = pl.concat([turns, agent_turns("b", 50)])
    again = pooled.with_columns(training_column(pooled).alias("train")).filter(pl.col("source") == "a")
    assert again["train"].to_list() == flags["train"].to_list()


def test_training_and_held_out_parts_partition_every_quantity():
    data = source_data("a", agent_turns("a", 60))
    train, test = data.part(True), data.part(False)
    for q, v in data.values.items():
        assert train.values[q].size + test.values[q].size == v.size and train.values[q].size and test.values[q].size
    assert train.values["turns_per_session"].size + test.values["turns_per_session"].size == 60
