"""The round trip: sessions generated from a profile, compared with the traces it was fitted from, and with
traces held out of the fit.

Three comparisons per quantity, all two-sample KS:

* in-sample: the exported profile (fitted on every trace) against every trace, beside the same profile with
  AIPerf's mean/median lognormals;
* held-out: a profile fitted on the training traces only, against the held-out traces;
* noise floor: the training traces against the held-out traces, with no model.

A quantity passes when its in-sample KS is within its target, it is no worse than AIPerf's method (beyond
:data:`BASELINE_MARGIN`), and its
held-out KS is within the noise floor plus :data:`~agenttrace_pipeline.fitting.holdout.HELDOUT_MARGIN`; the
last two are judged only where each compared sample has at least MIN_VALUES values (below that a KS
difference is noise, and the profile is marked low confidence anyway).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from agenttrace_pipeline.fitting.holdout import HELDOUT_MARGIN, ks_target, ks_two_sample
from agenttrace_pipeline.fitting.quantities import SourceData
from agenttrace_pipeline.fitting.select import MIN_VALUES
from agenttrace_pipeline.fitting.vocabulary import from_generator, put

ROUNDTRIP_SESSIONS = 2000  # sessions generated per profile: far more values than any source has, at 2/5 the time
BASELINE_MARGIN = 0.03  # worse than AIPerf's method by less than this is noise, not a failure
# in-sample KS targets (the 5 % critical value for the sizes compared when that is larger, see ks_target)
ROUNDTRIP_TARGETS = {"initial_context": 0.08, "new_input_tokens": 0.05, "output_tokens": 0.05,
                     "inter_turn_gap_ms": 0.05, "turns_per_session": 0.08}


def generated_quantities(profile: dict[str, Any], n: int = ROUNDTRIP_SESSIONS, seed: int = 1) -> dict[str, np.ndarray]:
    """Simulate ``n`` sessions of an explicit-turns profile in memory and measure the quantities of
    :data:`ROUNDTRIP_TARGETS` on them (named as fitting names them)."""
    from agenttrace_pipeline.synth.config import parse_config
    from agenttrace_pipeline.synth.engine import Samplers, simulate_explicit

    cfg = parse_config({k: v for k, v in profile.items() if not k.startswith("$")}, "profile")
    if cfg.turns is None:
        raise ValueError("the round trip needs a profile with explicit turn counts (turns)")
    b = simulate_explicit(cfg, Samplers.of(cfg), np.random.default_rng(seed), n)
    later = np.ones(b.new.size, dtype=bool)
    later[b.row_start[:-1]] = False
    # measured as the generator's quality report measures them, then renamed through the vocabulary
    return from_generator({"initial_context": b.c0, "new_tokens_per_turn": b.new[later], "generation_length": b.out,
                           "inter_turn_delay_ms": b.delay[later], "turns_per_session": b.turns})


def aiperf_profile(data: SourceData, like: dict[str, Any]) -> dict[str, Any]:
    """The same profile with every distribution a lognormal from the data's mean and median (AIPerf's method)."""

    def mm(q: str, minimum: float = 1) -> dict[str, float]:
        x = np.maximum(data.values[q].astype(float), 1)
        mean, median = float(x.mean()), float(np.median(x))
        return {"mean": round(max(mean, median), 4), "median": round(median, 4), "min": minimum}

    base = {k: v for k, v in like.items() if k != "fit"}
    base["cache"] = dict(like["cache"])
    for q in ("layer2_tokens", "new_input_tokens", "output_tokens"):
        put(base, q, mm(q))
    g = mm("inter_turn_gap_ms", 0)
    put(base, "inter_turn_gap_ms", {"agentic_fraction": 1.0, "agentic_delay": g, "human_delay": g})
    put(base, "turns_per_session", {**mm("turns_per_session"), "allow_truncation": True})
    return base


def _verdict(ks: float, base: float, target: float, sizes: tuple[int, int, int], heldout: float | None,
             floor: float | None) -> str:
    """Why a quantity fails ("" when it passes); ``sizes``: values in all, in training and in held-out traces.
    Comparisons between samples of fewer than MIN_VALUES values are noise, so they are not judged."""
    n, n_train, n_heldout = sizes
    reasons = []
    if ks > target:
        reasons.append(f"in-sample KS {ks:.3f} > target {target:.3f}")
    if n >= MIN_VALUES and ks > base + BASELINE_MARGIN:
        reasons.append(f"in-sample KS {ks:.3f} worse than AIPerf's mean/median lognormals ({base:.3f}) + {BASELINE_MARGIN}")
    judged = min(n_train, n_heldout) >= MIN_VALUES
    if judged and heldout is not None and floor is not None and heldout > floor + HELDOUT_MARGIN:
        reasons.append(f"held-out KS {heldout:.3f} > noise floor {floor:.3f} + {HELDOUT_MARGIN}")
    return "; ".join(reasons)


def roundtrip(profile: dict[str, Any], data: SourceData, train_profile: dict[str, Any] | None = None,
              n: int = ROUNDTRIP_SESSIONS, seed: int = 1) -> list[dict[str, Any]]:
    """One row per compared quantity (the columns of :data:`~agenttrace_pipeline.fitting.schemas.PROFILE_ROUNDTRIP`
    but ``profile``); ``train_profile``: the profile fitted on the training traces (None: no held-out check)."""
    ours = generated_quantities(profile, n, seed)
    theirs = generated_quantities(aiperf_profile(data, profile), n, seed)
    held = generated_quantities(train_profile, n, seed) if train_profile is not None else None
    train, test = data.part(True), data.part(False)
    rows = []
    for q, fixed in ROUNDTRIP_TARGETS.items():
        x = data.values.get(q)
        if x is None or not x.size:
            continue
        ks, base = ks_two_sample(x, ours[q]), ks_two_sample(x, theirs[q])
        target = ks_target(fixed, x.size, ours[q].size)
        xt, xh = train.values.get(q, np.zeros(0)), test.values.get(q, np.zeros(0))
        floor = ks_two_sample(xt, xh) if xt.size and xh.size else None
        ks_h = ks_two_sample(xh, held[q]) if held is not None and xh.size else None
        reason = _verdict(ks, base, target, (x.size, xt.size, xh.size), ks_h, floor)
        rows.append({"quantity": q, "n_data": int(x.size), "ks_profile": ks, "ks_aiperf_baseline": base,
                     "target": round(target, 4), "n_heldout": int(xh.size), "ks_heldout": ks_h, "ks_noise_floor": floor,
                     "heldout_target": None if floor is None else floor + HELDOUT_MARGIN,
                     "passes": not reason, "reason": reason})
    return rows
