"""One vocabulary: every quantity the generator measures maps to one fitting quantity, and back."""

from __future__ import annotations

from pathlib import Path

import pytest

from agenttrace_pipeline.fitting.vocabulary import BY_GENERATOR_METRIC, QUANTITIES, from_generator, generator_metric, put
from tests.synth.helpers import config, generate


def test_the_generators_quality_metrics_are_exactly_the_mapped_quantities(tmp_path: Path):
    res = generate(tmp_path, config(restart_initial_probability=0), n=20)
    measured = set(res.quality["observed_vs_target"])
    # a metric renamed on either side breaks this mapping, and the round trip with it
    assert measured == set(BY_GENERATOR_METRIC)
    assert from_generator({"generation_length": 1, "inter_turn_delay_ms": 2}) == {"output_tokens": 1, "inter_turn_gap_ms": 2}
    assert generator_metric("output_tokens") == "generation_length"


def test_fits_go_to_their_config_fields():
    cfg: dict = {"cache": {"layer1_tokens": 0}}
    put(cfg, "layer2_tokens", {"median": 1})
    put(cfg, "output_tokens", {"median": 2})
    put(cfg, "agentic_gap_ms", {"median": 3})
    assert cfg == {"cache": {"layer1_tokens": 0, "layer2": {"median": 1}}, "generation_length": {"median": 2},
                   "inter_turn_delay": {"agentic_delay": {"median": 3}}}
    with pytest.raises(KeyError, match="initial_context: no generator config field"):
        put(cfg, "initial_context", {})
    with pytest.raises(KeyError, match="generator metrics with no fitting quantity: \\['prefix_ratio'\\]"):
        from_generator({"prefix_ratio": 1.0})
    assert {q.name for q in QUANTITIES.values() if q.generator_metric} == set(BY_GENERATOR_METRIC.values())
