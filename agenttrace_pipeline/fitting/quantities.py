"""What is fitted, taken from the canonical tables, per source and pooled over the coding-agent sources."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy import optimize

POOLED = "pooled_coding_agents"
BLOCK = 512

# quantity -> fit options (families, mixture, discrete, ks threshold of the round-trip target)
QUANTITIES: dict[str, dict] = {
    "initial_context": {"discrete": True, "ks_threshold": 0.08},
    "layer2_tokens": {"discrete": True, "ks_threshold": 0.08},
    "new_input_tokens": {"discrete": True, "ks_threshold": 0.05},
    "output_tokens": {"discrete": True, "ks_threshold": 0.05},
    "inter_turn_gap_ms": {"discrete": False, "ks_threshold": 0.05, "mixture": True,
                          "families": ("lognormal", "gamma", "weibull", "fisk", "exponential")},
    "turns_per_session": {"discrete": True, "ks_threshold": 0.08},
}
ARRIVAL_OPTIONS = {"discrete": False, "ks_threshold": 0.05, "families": ("exponential", "gamma", "weibull", "lognormal")}


@dataclass
class SourceData:
    """A source's values for each quantity, plus what the profile needs besides distributions."""

    source: str
    values: dict[str, np.ndarray]
    layer1_tokens: int
    layer1_basis: str
    max_prompt_tokens: int
    hazard: dict[str, float] | None
    prefix_share: float | None = None  # median share of the turn-0 prompt the provider served from cache


def shared_prefix(first_turns: pl.DataFrame) -> tuple[int, str]:
    """L1 (tools + system prompt shared by every session of an agent), rounded down to whole blocks.

    From the turn-0 cached-read tokens where the provider reports them (what other sessions left in the
    cache), else from the floor of the turn-0 prompt sizes (5th percentile); never above that floor, so every
    session's turn 0 still has its own (L2) context beyond the shared prefix.
    """
    prompts = first_turns["prompt_tokens"].drop_nulls()
    if prompts.is_empty():
        return 0, "no prompt tokens"
    floor = float(prompts.quantile(0.05))
    cached = first_turns["cached_tokens"].drop_nulls()
    if cached.len() >= max(3, prompts.len() // 2) and float(cached.median()) > 0:
        est, basis = float(cached.median()), "median turn-0 cached tokens"
    else:
        est, basis = floor, "5th percentile of turn-0 prompts"
    tokens = int(min(est, floor - 1) // BLOCK * BLOCK)
    return max(tokens, 0), basis


def end_hazard(turns: pl.DataFrame, limit: int) -> dict[str, float] | None:
    """Fit ``p(end after a turn) = base * (1 + (scaling - 1) * u)`` with u = prompt / limit, by maximum likelihood.

    Every turn of a session is a trial; the last one is the event. This is the generator's reset rule, so the
    fitted (base, scaling) drive a reset-driven profile.
    """
    t = turns.filter(pl.col("prompt_tokens").is_not_null()).sort("trace_id", "turn_index")
    if t.height < 20 or t["trace_id"].n_unique() < 5:
        return None
    last = (pl.col("turn_index") == pl.col("turn_index").max().over("trace_id")).alias("ended")
    d = t.with_columns(last, (pl.col("prompt_tokens") / limit).clip(0, 1).alias("u"))
    u, y = d["u"].to_numpy(), d["ended"].to_numpy().astype(float)

    def nll(theta):
        base, scaling = math.exp(theta[0]), math.exp(theta[1])
        p = np.clip(base * (1 + (scaling - 1) * u), 1e-9, 1 - 1e-9)
        return -np.sum(y * np.log(p) + (1 - y) * np.log1p(-p))

    # bounded: base in [1e-5, 1], scaling in [1e-3, 1e3] (an unbounded fit runs base → 0, scaling → ∞
    # when ends are proportional to utilisation)
    start = [math.log(min(max(y.mean(), 1e-4), 0.5)), 0.0]
    res = optimize.minimize(nll, start, method="L-BFGS-B",
                            bounds=[(math.log(1e-5), 0.0), (math.log(1e-3), math.log(1e3))])
    base, scaling = math.exp(res.x[0]), math.exp(res.x[1])
    return {"base_probability": round(min(base, 1.0), 6), "context_scaling": round(scaling, 4), "trials": int(y.size),
            "ended_sessions": int(y.sum())}


def source_data(source: str, turns: pl.DataFrame) -> SourceData:
    """Quantities of one source (or of the pooled sources) from its canonical turns."""
    first = turns.filter(pl.col("turn_index") == 0)
    l1, basis = shared_prefix(first)
    prefix = -(-l1 // BLOCK) * BLOCK
    later = turns.filter(pl.col("turn_index") > 0)
    values = {
        "initial_context": first["prompt_tokens"].drop_nulls().to_numpy(),
        "layer2_tokens": (first["prompt_tokens"].drop_nulls() - prefix).clip(lower_bound=1).to_numpy(),
        "new_input_tokens": later["new_input_tokens"].drop_nulls().to_numpy(),
        "output_tokens": turns["completion_tokens"].drop_nulls().to_numpy(),
        "inter_turn_gap_ms": later["gap_before_ms"].drop_nulls().to_numpy(),
        "turns_per_session": turns.group_by("source", "trace_id").len()["len"].to_numpy(),
    }
    max_prompt = int(turns["prompt_tokens"].max() or 0)
    limit = max(max_prompt, 1)
    cached = first.filter(pl.col("cached_tokens").is_not_null() & (pl.col("prompt_tokens") > 0))
    share = float((cached["cached_tokens"] / cached["prompt_tokens"]).median()) if cached.height else None
    return SourceData(source, {k: v for k, v in values.items() if v.size}, l1, basis,
                      max_prompt, end_hazard(turns, limit) if max_prompt else None, share)
