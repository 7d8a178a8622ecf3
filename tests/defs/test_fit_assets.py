"""distribution_fits and generator_profiles through Dagster on the real traces: the round-trip targets."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import orjson

from agenttrace_pipeline.defs.fits.assets import distribution_fits, generator_profiles
from agenttrace_pipeline.defs.lib.warehouse import WarehouseResource
from agenttrace_pipeline.defs.sources import assets as src
from agenttrace_pipeline.store.warehouse import Warehouse
from agenttrace_pipeline.synth.config import load_config

ASSETS = [*src.raw_assets, src.agent_turns, src.tool_spans, src.arrivals, distribution_fits, generator_profiles]


def test_fits_profiles_and_round_trip_on_real_traces(isolated: Path, shared_data: Path):
    result = dg.materialize(ASSETS, resources={"warehouse": WarehouseResource()},
                            instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
    assert result.success
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations() if e.asset_key.path == ["distribution_fits"]}
    assert checks == {"every_quantity_has_a_chosen_fit": True, "chosen_fits_within_ks_threshold": True}
    wh = Warehouse()
    fams = set(wh.query("SELECT DISTINCT family FROM distribution_fits")["family"])
    assert {"lognormal", "gamma", "weibull", "fisk", "exponential", "lognormal_mixture", "empirical",
            "aiperf_mean_median_lognormal"} <= fams
    one = wh.query("SELECT * FROM distribution_fits WHERE chosen AND source = 'mini_swe_agent_chat' "
                   "AND quantity = 'turns_per_session'").row(0, named=True)
    assert one["family"] == "lognormal" and orjson.loads(one["ci"]) and one["aic"] and one["bic"] and len(one["fit_id"]) == 16
    # the report is one offline page
    page = (isolated / "outputs" / "fits" / "fit_report.html").read_text()
    assert "<svg" in page and "<script" not in page and "http" not in page.split("<body>", 1)[1]
    # profiles: written, loadable by name, lognormal in AIPerf's mean/median form, lineage recorded
    names = wh.query("SELECT profile FROM generator_profiles ORDER BY 1")["profile"].to_list()
    assert names == ["fitted_mini_swe_agent_chat", "fitted_pooled_coding_agents"]
    _, cfg = load_config("fitted_mini_swe_agent_chat")
    assert cfg.turns is not None and cfg.turns.mean and cfg.turns.median  # lognormal chosen → mean/median form
    raw = orjson.loads((isolated / "profiles" / "fitted_pooled_coding_agents.json").read_bytes())
    assert raw["fit"]["fit_ids"] and raw["fit"]["source_fingerprints"] and raw["arrival"]["process"] in ("trace", "poisson")
    assert "/work/" not in orjson.dumps(raw).decode()  # no machine-specific paths
    # round trip: KS targets met and never worse than AIPerf's mean/median lognormals
    rt = wh.query("SELECT * FROM profile_roundtrip")
    assert rt.height == 10
    for r in rt.iter_rows(named=True):
        assert r["ks_profile"] <= r["target"], r
        assert r["ks_profile"] <= r["ks_aiperf_baseline"], r
