"""Generator profiles from chosen fits, and the round trip that checks them against their source.

A profile is a generator config (``agenttrace synthesize agentic-code --config``): AIPerf's field names, and
AIPerf's mean/median form wherever lognormal is chosen (so AIPerf-style tools read it); our extended families
(``gamma``, ``weibull``, ``fisk``, ``exponential``, ``lognormal_mixture``, ``empirical``) where another wins.
Profiles use explicit turn counts (the fitted turns-per-session) and record the fitted end hazard as a
reset-driven alternative, the fit ids and the source fingerprints.
"""

from __future__ import annotations

import math
import tempfile
from typing import Any

import numpy as np
from scipy import stats

from agenttrace_pipeline.fitting.quantities import BLOCK, SourceData

PROFILE_QUANTITIES = ("layer2_tokens", "new_input_tokens", "output_tokens", "inter_turn_gap_ms", "turns_per_session")


def dist_config(family: str, params: dict[str, float], quantiles: list[float] | None = None, minimum: float = 1) -> dict:
    """The generator-config form of one chosen fit."""
    if family == "lognormal":
        median = params["scale"]
        return {"mean": round(median * math.exp(params["sigma"] ** 2 / 2), 4), "median": round(median, 4), "min": minimum}
    if family in ("gamma", "weibull", "fisk"):
        return {"family": family, "params": {"shape": params["shape"], "scale": params["scale"]}, "min": minimum}
    if family == "exponential":
        return {"family": family, "params": {"scale": params["scale"]}, "min": minimum}
    if family == "lognormal_mixture":
        return {"family": family, "min": minimum, "components": [
            {"weight": params[f"weight_{k}"], "mu": params[f"mu_{k}"], "sigma": params[f"sigma_{k}"]} for k in (0, 1)]}
    if family == "empirical":
        return {"family": "empirical", "quantiles": [round(float(q), 3) for q in quantiles or []], "min": minimum}
    raise ValueError(f"no generator form for family {family!r}")


def _delay(family: str, params: dict[str, float], quantiles) -> dict:
    if family == "lognormal_mixture":  # component 0 is the faster (agentic) one
        def part(k):
            mu, sd = params[f"mu_{k}"], params[f"sigma_{k}"]
            return {"mean": round(math.exp(mu + sd * sd / 2), 3), "median": round(math.exp(mu), 3)}

        return {"agentic_fraction": round(params["weight_0"], 4), "agentic_delay": part(0), "human_delay": part(1)}
    single = dist_config(family, params, quantiles, minimum=0)
    return {"agentic_fraction": 1.0, "agentic_delay": single, "human_delay": single}


def build_profile(name: str, data: SourceData, chosen: dict[str, dict[str, Any]], fingerprints: dict[str, str],
                  arrival: dict | None = None) -> dict[str, Any]:
    """A generator config from the chosen fit of each quantity (``chosen[q]`` = {family, params, quantiles, fit_id})."""
    missing = [q for q in PROFILE_QUANTITIES if q not in chosen]
    if missing:
        raise ValueError(f"{name}: cannot build a profile without fits for {missing}")

    def d(q, minimum=1):
        c = chosen[q]
        return dist_config(c["family"], c["params"], c.get("quantiles"), minimum)

    limit = int(max(4 * data.max_prompt_tokens, 131072) // BLOCK * BLOCK)
    gap = chosen["inter_turn_gap_ms"]
    profile = {
        "$comment": f"Fitted from source {data.source!r} by agenttrace_pipeline (distribution_fits → generator_profiles).",
        "max_prompt_tokens": limit,
        "block_size": BLOCK,
        "cache": {"layer1_tokens": data.layer1_tokens, "layer1_5_tokens": 0,
                  "layer1_5_groups": {"num_groups": 1, "zipf_alpha": 1.0}, "layer2": d("layer2_tokens")},
        "new_tokens_per_turn": d("new_input_tokens"),
        "generation_length": d("output_tokens"),
        "inter_turn_delay": _delay(gap["family"], gap["params"], gap.get("quantiles")),
        "reset": None,
        "turns": {**d("turns_per_session"), "allow_truncation": True},
        "restart_initial_probability": 0.0,
        "arrival": arrival or {"process": "none"},
        "calibrate_new_tokens": False,
        "fit": {
            "source": data.source,
            "fit_ids": {q: chosen[q]["fit_id"] for q in PROFILE_QUANTITIES},
            "families": {q: chosen[q]["family"] for q in PROFILE_QUANTITIES},
            "source_fingerprints": fingerprints,
            "layer1_tokens_basis": data.layer1_basis,
            "shared_prefix_share": None if data.prefix_share is None else round(data.prefix_share, 4),
            "reset_driven_alternative": {"reset": data.hazard} if data.hazard else None,
        },
    }
    return profile


def generated_quantities(profile: dict[str, Any], n: int = 5000, seed: int = 1) -> dict[str, np.ndarray]:
    """Generate ``n`` sessions from a profile and measure the same quantities on what was generated."""
    import polars as pl

    from agenttrace_pipeline.synth.config import parse_config
    from agenttrace_pipeline.synth.generate import synthesize
    from agenttrace_pipeline.trace.schema import read_trace_table

    cfg = parse_config({k: v for k, v in profile.items() if not k.startswith("$")}, "profile")
    with tempfile.TemporaryDirectory() as tmp:
        res = synthesize(cfg, num_sessions=n, seed=seed, output_root=tmp, run_name="roundtrip", validate=False)
        t = read_trace_table(res.dataset)
    first, later = t.filter(pl.col("turn") == 0), t.filter(pl.col("turn") > 0)
    return {
        "initial_context": first["input_length"].to_numpy(),
        "new_input_tokens": later["input_length"].to_numpy(),
        "output_tokens": t["output_length"].to_numpy(),
        "inter_turn_gap_ms": later["delay"].to_numpy(),
        "turns_per_session": t.group_by("session_id").len()["len"].to_numpy(),
    }


def ks_two_sample(a: np.ndarray, b: np.ndarray) -> float:
    return float(stats.ks_2samp(np.maximum(a, 1), np.maximum(b, 1)).statistic)


def aiperf_profile(data: SourceData, like: dict[str, Any]) -> dict[str, Any]:
    """The same profile with every distribution a lognormal from the data's mean and median (AIPerf's method)."""

    def mm(q, minimum=1):
        x = np.maximum(data.values[q].astype(float), 1)
        mean, median = float(x.mean()), float(np.median(x))
        return {"mean": round(max(mean, median), 4), "median": round(median, 4), "min": minimum}

    base = {k: v for k, v in like.items() if k != "fit"}
    base["cache"] = {**like["cache"], "layer2": mm("layer2_tokens")}
    base["new_tokens_per_turn"] = mm("new_input_tokens")
    base["generation_length"] = mm("output_tokens")
    g = mm("inter_turn_gap_ms", 0)
    base["inter_turn_delay"] = {"agentic_fraction": 1.0, "agentic_delay": g, "human_delay": g}
    base["turns"] = {**mm("turns_per_session"), "allow_truncation": True}
    return base


def roundtrip(profile: dict[str, Any], data: SourceData, n: int = 5000, seed: int = 1) -> dict[str, dict[str, float]]:
    """Two-sample KS between the source and ``n`` generated sessions, for the profile and the AIPerf-method baseline."""
    ours = generated_quantities(profile, n, seed)
    theirs = generated_quantities(aiperf_profile(data, profile), n, seed)
    out = {}
    for q in ("initial_context", "new_input_tokens", "output_tokens", "inter_turn_gap_ms", "turns_per_session"):
        if q in data.values and data.values[q].size:
            out[q] = {"n_data": int(data.values[q].size), "ks_profile": ks_two_sample(data.values[q], ours[q]),
                      "ks_aiperf_baseline": ks_two_sample(data.values[q], theirs[q])}
    return out
