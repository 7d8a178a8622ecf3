"""Profiles from fits: confidence, bundled samples kept out of the pooled set, context window, round trip."""

from __future__ import annotations

from pathlib import Path

import orjson
import polars as pl
import pytest

from agenttrace_pipeline.fitting import schemas
from agenttrace_pipeline.fitting.export import export_profiles
from agenttrace_pipeline.fitting.roundtrip import generated_quantities
from agenttrace_pipeline.fitting.run import fit_all, fits_frame
from agenttrace_pipeline.sources.canonical import ARRIVAL_SCHEMA
from agenttrace_pipeline.synth.config import parse_config
from tests.fitting.helpers import agent_turns

NO_ARRIVALS = pl.DataFrame(schema=ARRIVAL_SCHEMA)


def _export(turns: pl.DataFrame, samples=(), windows=None, fits: pl.DataFrame | None = None):
    if fits is None:
        fits = fits_frame(fit_all(turns, NO_ARRIVALS, samples=samples, context_windows=windows))
    return export_profiles(turns, fits, Path("/profiles"), samples=samples, context_windows=windows, sessions=400)


@pytest.fixture(scope="module")
def three_sources() -> pl.DataFrame:
    return pl.concat([agent_turns("big", 40, seed=1), agent_turns("small", 4, seed=2, model="claude-sonnet-4"),
                      agent_turns("sample", 30, seed=3, model="gpt-4o")])


@pytest.fixture(scope="module")
def exported(three_sources):
    return _export(three_sources, samples=("sample",))


def test_small_sources_get_low_confidence_profiles_and_samples_stay_out_of_the_pool(exported):
    out = exported
    rows = {r["profile"]: r for r in out.table.iter_rows(named=True)}
    assert set(rows) == {"fitted_big", "fitted_small", "fitted_sample", "fitted_pooled_coding_agents"}
    assert rows["fitted_big"]["confidence"] == "high" and orjson.loads(rows["fitted_big"]["low_confidence_reasons"]) == []
    small = out.profiles["fitted_small"]["fit"]
    assert small["confidence"] == "low" and "4 sessions (< 20)" in small["low_confidence_reasons"]
    assert "LOW CONFIDENCE" in out.profiles["fitted_small"]["$comment"]
    sample = out.profiles["fitted_sample"]["fit"]
    assert sample["from_samples"] and "fitted from the bundled samples, not from real traces" in sample["low_confidence_reasons"]
    pooled = out.profiles["fitted_pooled_coding_agents"]["fit"]
    assert pooled["sources"] == ["big", "small"] and set(pooled["source_fingerprints"]) == {"big", "small"}
    assert pooled["pooled"] == {"members": ["big", "small"], "samples_only": False,
                                "note": "bundled samples left out: ['sample']"}
    for profile in out.profiles.values():  # every profile is a config the generator runs
        assert generated_quantities(profile, n=50)["turns_per_session"].size == 50


def test_max_prompt_tokens_is_the_models_context_window(three_sources, exported):
    tokens = dict(exported.table.select("profile", "max_prompt_tokens").iter_rows())
    assert tokens["fitted_big"] == 131_072 and tokens["fitted_small"] == 200_000 and tokens["fitted_sample"] == 128_000
    configured = _export(three_sources.filter(pl.col("source") == "big"), windows={"big": 64_000})
    assert configured.profiles["fitted_big"]["max_prompt_tokens"] == 64_000
    assert configured.profiles["fitted_big"]["fit"]["context_window"]["basis"].startswith("context_window of the source")


def test_when_every_source_is_a_sample_the_pooled_profile_says_so(three_sources):
    out = _export(three_sources, samples=("big", "small", "sample"))
    fit = out.profiles["fitted_pooled_coding_agents"]["fit"]
    assert fit["pooled"]["samples_only"] and fit["from_samples"] and fit["confidence"] == "low"
    assert fit["sources"] == ["big", "sample", "small"]


def test_the_round_trip_reports_held_out_ks_beside_the_noise_floor(exported):
    big = exported.roundtrip.filter(pl.col("profile") == "fitted_big")
    assert big["quantity"].to_list() == ["initial_context", "new_input_tokens", "output_tokens", "inter_turn_gap_ms",
                                         "turns_per_session"]
    assert big["ks_heldout"].null_count() == 0 and big["ks_noise_floor"].null_count() == 0
    assert (big["heldout_target"] == big["ks_noise_floor"] + 0.03).all()
    assert big["passes"].all(), big.filter(~pl.col("passes"))["reason"].to_list()


def test_a_profile_that_misses_its_source_fails_the_round_trip_by_name(three_sources):
    turns = three_sources.filter(pl.col("source") == "big")
    fits = fits_frame(fit_all(turns, NO_ARRIVALS))
    wrong = orjson.dumps({"sigma": 0.3, "scale": 2000.0}).decode()  # outputs ~20x too long
    bad = (pl.col("quantity") == "output_tokens") & pl.col("chosen")
    fits = fits.with_columns(family=pl.when(bad).then(pl.lit("lognormal")).otherwise("family"),
                             params=pl.when(bad).then(pl.lit(wrong)).otherwise("params"))
    failing = _export(turns, fits=fits).failing()
    assert len(failing) == 1 and failing[0].startswith("fitted_big/output_tokens: in-sample KS")


def test_without_any_profile_the_tables_keep_their_columns():
    turns = agent_turns("a", 5).with_columns(prompt_tokens=pl.lit(None, pl.Int64), new_input_tokens=pl.lit(None, pl.Int64))
    out = _export(turns)
    assert out.table.height == 0 and out.table.schema == pl.Schema(schemas.GENERATOR_PROFILES)
    assert out.roundtrip.schema == pl.Schema(schemas.PROFILE_ROUNDTRIP)
    assert out.skipped == ["a: no profile (no fits for ['layer2_tokens', 'new_input_tokens'])"]


def test_profiles_use_the_generators_field_names():
    out = _export(agent_turns("a", 40, human_every=5))
    profile = out.profiles["fitted_a"]
    delay = profile["inter_turn_delay"]
    assert delay["components"] == 2 and set(delay) >= {"agentic_delay", "human_delay", "agentic_fraction"}
    cfg = parse_config({k: v for k, v in profile.items() if k != "$comment"})
    assert cfg.generation_length.family and cfg.new_tokens_per_turn and cfg.cache.layer2 and cfg.turns is not None
    assert profile["fit"]["families"].keys() == {"layer2_tokens", "new_input_tokens", "output_tokens", "inter_turn_gap_ms",
                                                 "turns_per_session", "agentic_gap_ms", "human_gap_ms"}
