"""distribution_fits and generator_profiles through Dagster: on the real traces, on the bundled samples only
(an empty shared-data folder), and with nothing to fit."""

from __future__ import annotations

import re
from pathlib import Path

import dagster as dg
import orjson
import polars as pl
import pytest

from agenttrace_pipeline.defs.fits.assets import distribution_fits, generator_profiles
from agenttrace_pipeline.defs.sources import assets as src
from agenttrace_pipeline.fitting import schemas
from agenttrace_pipeline.lib.warehouse import WarehouseResource
from agenttrace_pipeline.store.warehouse import Warehouse
from agenttrace_pipeline.synth.config import load_config
from agenttrace_pipeline.synth.generate import synthesize

ASSETS = [*src.raw_assets, src.agent_turns, src.tool_spans, src.arrivals, distribution_fits, generator_profiles]


def _materialize(assets) -> dg.ExecuteInProcessResult:
    result = dg.materialize(assets, resources={"warehouse": WarehouseResource()},
                            instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
    assert result.success
    return result


def _checks(result: dg.ExecuteInProcessResult) -> dict[str, bool]:
    return {e.check_name: e.passed for e in result.get_asset_check_evaluations()
            if e.asset_key.path[0] in ("distribution_fits", "generator_profiles")}


def _profile(isolated: Path, name: str) -> dict:
    return orjson.loads((isolated / "profiles" / f"{name}.json").read_bytes())


def test_fits_profiles_and_round_trip_on_real_traces(isolated: Path, shared_data: Path):
    result = _materialize(ASSETS)
    assert _checks(result) == {"every_quantity_has_a_chosen_fit": True, "chosen_fits_within_ks_threshold": True,
                               "profile_roundtrip_within_targets": True}
    wh = Warehouse()
    fams = set(wh.query("SELECT DISTINCT family FROM distribution_fits")["family"])
    assert {"lognormal", "gamma", "weibull", "fisk", "exponential", "lognormal_mixture", "empirical",
            "aiperf_mean_median_lognormal"} <= fams
    one = wh.query("SELECT * FROM distribution_fits WHERE chosen AND source = 'mini_swe_agent_chat' "
                   "AND quantity = 'turns_per_session'").row(0, named=True)
    assert one["family"] == "lognormal" and orjson.loads(one["ci"]) and one["aic"] and one["bic"] and len(one["fit_id"]) == 16
    # held-out KS beside the noise floor, per quantity, for mini-swe-agent and the pooled set: within floor + 0.03
    held = wh.query("SELECT source, quantity, ks, ks_heldout, ks_noise_floor, n_heldout FROM distribution_fits WHERE chosen "
                    "AND source IN ('mini_swe_agent_chat', 'pooled_coding_agents')")
    assert held.height == 12 and held["n_heldout"].min() >= 25
    assert (held["ks_heldout"] <= held["ks_noise_floor"] + 0.03).all(), held
    page = (isolated / "outputs" / "fits" / "fit_report.html").read_text()
    assert "<svg" in page and "<script" not in page and "http" not in page.split("<body>", 1)[1] and "KS held-out" in page
    # profiles: the real sources' are high confidence; small and sample-only sources are exported, marked low
    table = wh.query("SELECT profile, confidence, from_samples, max_prompt_tokens FROM generator_profiles ORDER BY 1")
    rows = {r["profile"]: r for r in table.iter_rows(named=True)}
    assert rows["fitted_mini_swe_agent_chat"]["confidence"] == rows["fitted_pooled_coding_agents"]["confidence"] == "high"
    assert rows["fitted_mini_swe_agent_reasoner"]["confidence"] == "low"
    assert rows["fitted_agenttrace"]["from_samples"]  # no network in tests: its bundled sample
    _, cfg = load_config("fitted_mini_swe_agent_chat")
    assert cfg.turns is not None and cfg.turns.mean and cfg.turns.median  # lognormal chosen → mean/median form
    chat = _profile(isolated, "fitted_mini_swe_agent_chat")
    # deepseek's context window as the sources config gives it, not 4 × the largest prompt (327,680)
    assert chat["max_prompt_tokens"] == 131_072 and "sources config" in chat["fit"]["context_window"]["basis"]
    # L2 is the turn-0 prompt beyond the 320-token shared prefix (512 once the generator rounds it to a block)
    assert chat["cache"]["layer1_tokens"] == 320 and cfg.prefix_tokens == 512
    assert chat["inter_turn_delay"]["components"] == 1 and "human_delay" not in chat["inter_turn_delay"]
    assert "no human turns" in chat["inter_turn_delay"]["reason"]
    pooled = _profile(isolated, "fitted_pooled_coding_agents")
    assert "agenttrace" not in pooled["fit"]["sources"] and "agenttrace" not in pooled["fit"]["source_fingerprints"]
    assert pooled["fit"]["pooled"]["note"] == "bundled samples left out: ['agenttrace']"
    assert pooled["arrival"]["process"] in ("trace", "poisson") and "/work/" not in orjson.dumps(pooled).decode()
    # round trip: every row of the two real profiles passes, held-out within its noise floor + 0.03
    rt = wh.query("SELECT * FROM profile_roundtrip WHERE profile IN ('fitted_mini_swe_agent_chat', "
                  "'fitted_pooled_coding_agents')")
    assert rt.height == 10 and rt["passes"].all()
    for r in rt.iter_rows(named=True):
        assert r["ks_profile"] <= r["target"] and r["ks_heldout"] <= r["heldout_target"], r
    # lineage inputs are content hashes, never row counts
    inputs = orjson.loads(wh.query("SELECT input_fingerprints FROM lineage WHERE asset_key = 'generator_profiles'")[0, 0])
    assert inputs and all(re.fullmatch(r"[0-9a-f]{64}", v) for v in inputs.values()), inputs


def test_only_the_bundled_samples_still_give_a_usable_profile(isolated: Path, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "no_shared").mkdir()
    monkeypatch.setenv("AGENTTRACE_SHARED_DATA", str(tmp_path / "no_shared"))
    result = _materialize(ASSETS)
    assert _checks(result) == {"every_quantity_has_a_chosen_fit": True, "chosen_fits_within_ks_threshold": True,
                               "profile_roundtrip_within_targets": True}
    wh = Warehouse()
    table = wh.query("SELECT * FROM generator_profiles")
    assert table.height >= 2 and (table["confidence"] == "low").all() and table["from_samples"].all()
    pooled = _profile(isolated, "fitted_pooled_coding_agents")["fit"]
    assert pooled["pooled"]["samples_only"] and pooled["pooled"]["note"].startswith("every source fell back")
    assert "fitted from the bundled samples, not from real traces" in pooled["low_confidence_reasons"]
    # usable: the generator makes a dataset from it that passes the trace validator
    name, cfg = load_config("fitted_pooled_coding_agents")
    res = synthesize(cfg, num_sessions=50, seed=3, output_root=tmp_path / "out", config_name=name, validate=True)
    assert res.validation.valid and res.manifest["sessions_emitted"] >= 50


def test_with_nothing_fitted_the_profile_tables_are_written_with_their_columns(isolated: Path):
    wh = Warehouse()
    old = wh.partition_path("distribution_fits", "source", "removed_source")  # left by an older version
    old.parent.mkdir(parents=True)
    pl.DataFrame({"quantity": ["x"], "old": [1]}).write_parquet(old)
    result = dg.materialize([distribution_fits], resources={"warehouse": WarehouseResource()},
                            instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
    assert _checks(result) == {"every_quantity_has_a_chosen_fit": False, "chosen_fits_within_ks_threshold": True}
    assert not (wh.lake / "distribution_fits" / "source=removed_source").exists()  # fits never outlive their source
    _materialize([generator_profiles])
    for table, schema in (("generator_profiles", schemas.GENERATOR_PROFILES), ("profile_roundtrip", schemas.PROFILE_ROUNDTRIP)):
        df = wh.query(f"SELECT * FROM {table}")
        assert df.height == 0 and set(schema) | {"run_id"} <= set(df.columns)
    assert pl.read_parquet(wh.lake / "generator_profiles" / "run=latest" / "data.parquet").width == len(schemas.GENERATOR_PROFILES) + 1
