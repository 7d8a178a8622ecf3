from __future__ import annotations

import json
from pathlib import Path

import pytest

from agenttrace_pipeline.synth.config import CONFIG_DIR, ConfigError, json_schema, load_config, parse_config


def test_bundled_default_has_the_seed_values_and_real_spread():
    name, cfg = load_config("default")
    assert name == "default"
    assert (cfg.max_prompt_tokens, cfg.block_size, cfg.cache.layer1_tokens, cfg.cache.layer1_5_tokens) == (167000, 512, 32000, 0)
    assert cfg.cache.layer1_5_groups.num_groups == 1
    assert cfg.new_tokens_per_turn.max == 10000 and cfg.generation_length.max == 1500
    # unlike AIPerf's own default (mean == median: constants), every size is a real distribution
    for d in (cfg.new_tokens_per_turn, cfg.generation_length, cfg.cache.layer2):
        assert d.mean > d.median
    assert cfg.reset is not None and cfg.reset.context_scaling > 1


def test_restart_fraction_is_an_alias_and_listed_foreign_keys_are_ignored():
    cfg = parse_config({"restart_fraction": 0.4, "system_prompt_tokens": 4000, "$comment": "why"})
    assert cfg.restart_initial_probability == 0.4


@pytest.mark.parametrize(("data", "message"), [
    ({"new_tokens_per_turn": {"mean": 100, "median": 200}}, "new_tokens_per_turn: Value error, mean (100.0) must be >= median"),
    ({"block_size": 0}, "block_size: Input should be greater than 0"),
    ({"turns": {"mean": 10, "median": 8}}, "cannot be combined with reset: set reset to null"),
    ({"turns": {"mean": 10, "median": 8}, "reset": None, "restart_initial_probability": 0.2}, "restart_initial_probability > 0"),
    ({"restart_turn_range": [9, 3]}, "restart_turn_range must be [lo, hi)"),
    ({"cache": {"layer1_tokens": 200000}}, "leaves no room below max_prompt_tokens"),
    ({"arrival": {"process": "poisson"}}, "needs rate_per_s"),
    ({"inter_turn_delay": {"agentic_fraction": 1.5}}, "inter_turn_delay.agentic_fraction"),
])
def test_invalid_values_name_the_field(data: dict, message: str):
    with pytest.raises(ConfigError) as exc:
        parse_config(data, "my.json")
    assert "my.json: invalid generator config" in str(exc.value) and message in str(exc.value)


def test_load_by_path_and_from_a_manifest(tmp_path: Path):
    path = tmp_path / "mine.json"
    path.write_text(json.dumps({"max_prompt_tokens": 90000, "cache": {"layer1_tokens": 8000}}))
    name, cfg = load_config(path)
    assert name == "mine" and cfg.max_prompt_tokens == 90000
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"config_name": "mine", "generation_params": cfg.to_json_dict()}))
    name2, cfg2 = load_config(manifest)
    assert name2 == "mine" and cfg2.digest() == cfg.digest()
    with pytest.raises(ConfigError, match="no such config file, bundled config"):
        load_config("no-such-profile")


def test_committed_json_schema_is_current():
    committed = json.loads((CONFIG_DIR / "spec.json").read_text())
    assert committed == json.loads(json.dumps(json_schema())), "run: agenttrace synthesize schema --write"
    assert {"new_tokens_per_turn", "generation_length", "inter_turn_delay", "reset", "turns", "cache",
            "restart_initial_probability", "restart_turn_range", "arrival"} <= set(committed["properties"])


def test_configs_built_in_python_are_checked_like_json():
    import numpy as np

    cfg = parse_config({"max_prompt_tokens": np.int64(90000), "cache": {"layer1_tokens": np.int64(8000)},
                        "generation_length": {"family": "empirical", "quantiles": np.array([30.0, 80.0, 400.0])}})
    assert cfg.max_prompt_tokens == 90000 and cfg.generation_length.quantiles == [30.0, 80.0, 400.0]
    with pytest.raises(ConfigError, match=r"generation_length.max: inf is not a finite number"):
        parse_config({"generation_length": {"mean": 1000, "median": 900, "max": float("inf")}})
    with pytest.raises(ConfigError, match=r"restart_turn_range.0: Input should be a valid integer"):
        parse_config({"restart_turn_range": [True, 9]})
