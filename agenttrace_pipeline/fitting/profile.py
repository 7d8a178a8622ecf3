"""Generator profiles from chosen fits.

A profile is a generator config (``agenttrace synthesize agentic-code --config``): AIPerf's field names, and
AIPerf's mean/median form wherever lognormal is chosen (so AIPerf-style tools read it); our extended families
(``gamma``, ``weibull``, ``fisk``, ``exponential``, ``lognormal_mixture``, ``empirical``) where another wins.
Profiles use explicit turn counts (the fitted turns-per-session) and record the fitted end hazard as a
reset-driven alternative, the fit ids, the source fingerprints, how confident the fit is and why, the
context window and the delay components.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from agenttrace_pipeline.fitting.delay import delay_config
from agenttrace_pipeline.fitting.quantities import BLOCK, SourceData
from agenttrace_pipeline.fitting.select import MIN_VALUES
from agenttrace_pipeline.fitting.vocabulary import put

PROFILE_QUANTITIES = ("layer2_tokens", "new_input_tokens", "output_tokens", "inter_turn_gap_ms", "turns_per_session")
DELAY_COMPONENTS = ("agentic_gap_ms", "human_gap_ms")


@dataclass(frozen=True, slots=True)
class Chosen:
    """The chosen fit of one quantity, as a profile needs it."""

    family: str
    params: dict[str, Any]
    fit_id: str
    n: int
    confidence: str = "high"

    @classmethod
    def from_row(cls, row: Mapping[str, Any], train: bool = False) -> Chosen:
        """From a chosen ``distribution_fits`` row; ``train``: its refit on the training traces instead."""
        raw = row["params_train"] if train else row["params"]
        if raw is None:
            raise ValueError(f"{row['source']}/{row['quantity']}: no refit on the training traces")
        return cls(row["family"], orjson.loads(raw), row["fit_id"], int(row["n_train"] if train else row["n"]), row["confidence"])


def required(data: SourceData) -> tuple[str, ...]:
    """The quantities a profile of ``data`` needs fits for."""
    return PROFILE_QUANTITIES + (DELAY_COMPONENTS if data.delay.components == 2 else ())


def dist_config(family: str, params: dict[str, Any], minimum: float = 1) -> dict:
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
        return {"family": "empirical", "quantiles": [round(float(q), 3) for q in params["quantiles"]], "min": minimum}
    raise ValueError(f"no generator form for family {family!r}")


def confidence(data: SourceData, chosen: Mapping[str, Chosen], from_samples: bool) -> list[str]:
    """Why a profile is low confidence (empty: it is not)."""
    reasons = [f"{data.sessions} sessions (< {MIN_VALUES})"] if data.sessions < MIN_VALUES else []
    reasons += [f"{q}: {c.n} values (< {MIN_VALUES})" for q, c in chosen.items() if c.confidence == "low"]
    if from_samples:
        reasons.append("fitted from the bundled samples, not from real traces")
    return reasons


def build_profile(data: SourceData, chosen: Mapping[str, Chosen], fingerprints: Mapping[str, str], *,
                  arrival: dict | None = None, from_samples: bool = False,
                  pooled: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A generator config from the chosen fit of each quantity of :func:`required`; ``pooled``: for the
    pooled set, its members and whether they are all bundled samples."""
    missing = [q for q in required(data) if q not in chosen]
    if missing:
        raise ValueError(f"{data.source}: cannot build a profile without fits for {missing}")

    def d(q: str, minimum: float = 1) -> dict:
        return dist_config(chosen[q].family, chosen[q].params, minimum)

    reasons = confidence(data, chosen, from_samples)
    profile: dict[str, Any] = {
        "$comment": f"Fitted from source {data.source!r} by agenttrace_pipeline (distribution_fits → generator_profiles)"
                    + (f"; LOW CONFIDENCE: {'; '.join(reasons)}" if reasons else "") + ".",
        "max_prompt_tokens": data.context.tokens,
        "block_size": BLOCK,
        "cache": {"layer1_tokens": data.layer1_tokens, "layer1_5_tokens": 0,
                  "layer1_5_groups": {"num_groups": 1, "zipf_alpha": 1.0}},
        "reset": None,
        "restart_initial_probability": 0.0,
        "arrival": arrival or {"process": "none"},
        "calibrate_new_tokens": False,
    }
    for q in ("layer2_tokens", "new_input_tokens", "output_tokens"):
        put(profile, q, d(q))
    two = data.delay.components == 2
    put(profile, "inter_turn_gap_ms", delay_config(data.delay, d("inter_turn_gap_ms", 0),
                                                   d("agentic_gap_ms", 0) if two else None, d("human_gap_ms", 0) if two else None))
    put(profile, "turns_per_session", {**d("turns_per_session"), "allow_truncation": True})
    profile["fit"] = {
        "source": data.source,
        "sources": data.members,
        "confidence": "low" if reasons else "high",
        "low_confidence_reasons": reasons,
        "from_samples": from_samples,
        "fit_ids": {q: chosen[q].fit_id for q in required(data)},
        "families": {q: chosen[q].family for q in required(data)},
        "source_fingerprints": dict(fingerprints),
        "layer1_tokens_basis": data.layer1_basis,
        "shared_prefix_share": None if data.prefix_share is None else round(data.prefix_share, 4),
        "context_window": {"max_prompt_tokens": data.context.tokens, "basis": data.context.basis,
                           "model": data.model, "largest_observed_prompt": data.max_prompt_tokens},
        "delay_components": data.delay.summary(),
        "reset_driven_alternative": {"reset": data.hazard} if data.hazard else None,
    }
    if pooled is not None:
        profile["fit"]["pooled"] = dict(pooled)
    return profile
