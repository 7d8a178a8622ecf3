"""The inter-turn delay: agentic and human components, or one component that says why."""

from __future__ import annotations

import numpy as np

from agenttrace_pipeline.fitting.delay import delay_config, split_gaps
from agenttrace_pipeline.fitting.quantities import source_data
from tests.fitting.helpers import agent_turns

rng = np.random.default_rng(3)
GAP = {"median": 1.0, "mean": 2.0}


def test_gaps_after_turns_without_tool_calls_are_the_human_component():
    data = source_data("a", agent_turns("a", 40, human_every=5))
    split = data.delay
    assert split.components == 2 and split.basis == "tool calls of the turn before the gap"
    human = data.values["human_gap_ms"]
    agentic = data.values["agentic_gap_ms"]
    assert np.median(human) > 20_000 > 1_000 > np.median(agentic)
    cfg = delay_config(split, GAP, {"median": 300.0}, {"median": 40000.0})
    assert cfg["components"] == 2 and cfg["agentic_fraction"] == round(agentic.size / (agentic.size + human.size), 4)
    assert cfg["human_delay"] != cfg["agentic_delay"]


def test_a_source_without_human_turns_says_it_has_one_component():
    data = source_data("a", agent_turns("a", 40))
    assert data.delay.components == 1 and "no human turns" in data.delay.reason
    assert "human_gap_ms" not in data.values
    cfg = delay_config(data.delay, GAP, None, None)
    # nothing copied into human_delay: the generator never draws it at fraction 1.0, and the reason is there
    assert cfg == {"components": 1, "agentic_fraction": 1.0, "agentic_delay": GAP, "basis": data.delay.basis,
                   "reason": data.delay.reason}


def test_too_few_human_gaps_make_one_component_and_say_how_many():
    prev = np.ones(200)
    prev[[10, 50]] = 0
    split = split_gaps(rng.lognormal(6, 1, 200), prev)
    assert split.components == 1 and split.reason.startswith("only 2 human gaps")
    assert split.agentic.all()  # the one component describes every gap


def test_without_tool_call_counts_a_mixture_separates_the_components():
    fast, slow = rng.lognormal(np.log(300), 0.5, 700), rng.lognormal(np.log(30000), 0.5, 300)
    split = split_gaps(np.concatenate([fast, slow]), np.full(1000, np.nan))
    assert split.components == 2 and "mixture" in split.basis
    assert abs(split.agentic.mean() - 0.7) < 0.02 and split.agentic[:700].mean() > 0.97
    one = split_gaps(rng.lognormal(6, 1, 1000), np.full(1000, np.nan))
    assert one.components == 1 and "one lognormal explains the gaps as well as two" in one.reason
