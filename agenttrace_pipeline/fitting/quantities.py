"""What is fitted, taken from the canonical tables, per source and pooled over the coding-agent sources."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Required, TypedDict

import numpy as np
import polars as pl
from scipy import optimize

from agenttrace_pipeline.fitting.context_window import ContextWindow, context_window
from agenttrace_pipeline.fitting.delay import DelaySplit, split_gaps
from agenttrace_pipeline.fitting.holdout import training_column
from agenttrace_pipeline.sources.column_stats import number

POOLED = "pooled_coding_agents"
BLOCK = 512

class FitOptions(TypedDict, total=False):
    """Keyword options of :func:`agenttrace_pipeline.fitting.select.fit_quantity` for one quantity."""

    families: tuple[str, ...]
    mixture: bool
    discrete: bool
    ks_threshold: Required[float]  # also read by the fit report's threshold check


_GAP_OPTIONS: FitOptions = {"discrete": False, "ks_threshold": 0.05, "mixture": True,
                "families": ("lognormal", "gamma", "weibull", "fisk", "exponential")}
# quantity -> fit options (families, mixture, discrete, ks threshold of the chosen fit)
FIT_OPTIONS: dict[str, FitOptions] = {
    "initial_context": {"discrete": True, "ks_threshold": 0.08},
    "layer2_tokens": {"discrete": True, "ks_threshold": 0.08},
    "new_input_tokens": {"discrete": True, "ks_threshold": 0.05},
    "output_tokens": {"discrete": True, "ks_threshold": 0.05},
    "inter_turn_gap_ms": _GAP_OPTIONS,
    "agentic_gap_ms": _GAP_OPTIONS,
    "human_gap_ms": _GAP_OPTIONS,
    "turns_per_session": {"discrete": True, "ks_threshold": 0.08},
}
ARRIVAL_OPTIONS: FitOptions = {"discrete": False, "ks_threshold": 0.05, "families": ("exponential", "gamma", "weibull", "lognormal")}


@dataclass
class SourceData:
    """A source's values for each quantity, which of them come from training traces (``train[q]``, a mask
    beside ``values[q]``), and what the profile needs besides distributions."""

    source: str
    values: dict[str, np.ndarray]
    train: dict[str, np.ndarray]
    layer1_tokens: int
    layer1_basis: str
    max_prompt_tokens: int  # the largest prompt observed
    context: ContextWindow  # the profile's max_prompt_tokens and why
    hazard: dict[str, float] | None
    delay: DelaySplit
    sessions: int = 0
    model: str | None = None  # the model of most turns
    prefix_share: float | None = None  # median share of the turn-0 prompt the provider served from cache
    members: list[str] = field(default_factory=list)  # the sources the data come from

    def part(self, training: bool) -> SourceData:
        """The same data restricted to the training traces (or to the held-out ones)."""
        keep = {q: m if training else ~m for q, m in self.train.items()}
        gaps = keep.get("inter_turn_gap_ms", np.zeros(0, dtype=bool))
        return replace(self, values={q: v[keep[q]] for q, v in self.values.items()},
                       train={q: np.full(int(keep[q].sum()), training) for q in self.values},
                       delay=replace(self.delay, agentic=self.delay.agentic[gaps]) if gaps.size else self.delay)


def shared_prefix(first_turns: pl.DataFrame) -> tuple[int, str]:
    """L1 in tokens: the tools and system prompt shared by every session of an agent.

    From the turn-0 cached-read tokens where the provider reports them (what other sessions left in the
    cache), else from the floor of the turn-0 prompt sizes (5th percentile); kept below that floor, so every
    session's turn 0 still has its own (L2) context beyond the shared prefix. Not rounded down to whole
    blocks: a prefix shorter than a block (mini-swe-agent's is 320 tokens) would vanish, and L2 would
    then be the whole turn-0 prompt. The generator rounds L1 up to whole blocks itself.
    """
    prompts = first_turns["prompt_tokens"].drop_nulls()
    if prompts.is_empty():
        return 0, "no prompt tokens"
    floor = float(number(prompts.quantile(0.05), "5th percentile of turn-0 prompt_tokens"))
    cached = first_turns["cached_tokens"].drop_nulls()
    enough_cached = cached.len() >= max(3, prompts.len() // 2)
    cached_median = float(number(cached.median(), "median turn-0 cached_tokens")) if enough_cached else 0.0
    if cached_median > 0:
        est, basis = cached_median, "median turn-0 cached tokens"
    else:
        est, basis = floor, "5th percentile of turn-0 prompts"
    # the block-rounded prefix must leave at least one L2 token below the smallest usual prompt
    room = int((floor - 1) // BLOCK * BLOCK)
    tokens = int(est) if -(-int(est) // BLOCK) * BLOCK <= room else room
    return max(tokens, 0), basis


def end_hazard(turns: pl.DataFrame, limit: int) -> dict[str, float] | None:
    """Fit ``p(end after a turn) = base * (1 + (scaling - 1) * u)`` with u = prompt / limit, by maximum likelihood.

    Every turn of a session is a trial; the last one is the event. This is the generator's reset rule, so the
    fitted (base, scaling) drive a reset-driven profile.
    """
    t = turns.filter(pl.col("prompt_tokens").is_not_null()).sort("source", "trace_id", "turn_index")
    if t.height < 20 or t["trace_id"].n_unique() < 5:
        return None
    last = (pl.col("turn_index") == pl.col("turn_index").max().over("source", "trace_id")).alias("ended")
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


def _values(turns: pl.DataFrame, prefix: int) -> tuple[dict[str, pl.DataFrame], DelaySplit]:
    """Per quantity: a frame of (value, train) rows."""
    first = turns.filter(pl.col("turn_index") == 0)
    later = turns.filter((pl.col("turn_index") > 0) & pl.col("gap_before_ms").is_not_null())
    # streaming usage snapshots under-count output tokens: output-length fits leave them out
    outputs = turns.filter(~pl.col("usage_snapshot").fill_null(False))
    sessions = turns.group_by("source", "trace_id").agg(pl.len().alias("value"), pl.col("train").first())
    frames = {
        "initial_context": first.select(pl.col("prompt_tokens").alias("value"), "train"),
        "layer2_tokens": first.select((pl.col("prompt_tokens") - prefix).clip(lower_bound=1).alias("value"), "train"),
        "new_input_tokens": turns.filter(pl.col("turn_index") > 0).select(pl.col("new_input_tokens").alias("value"), "train"),
        "output_tokens": outputs.select(pl.col("completion_tokens").alias("value"), "train"),
        "inter_turn_gap_ms": later.select(pl.col("gap_before_ms").alias("value"), "train"),
        "turns_per_session": sessions.select("value", "train"),
    }
    split = split_gaps(later["gap_before_ms"].to_numpy(), later["previous_tool_calls"].cast(pl.Float64).fill_null(np.nan).to_numpy())
    if split.components == 2:
        mask = pl.Series(split.agentic)
        frames["agentic_gap_ms"] = frames["inter_turn_gap_ms"].filter(mask)
        frames["human_gap_ms"] = frames["inter_turn_gap_ms"].filter(~mask)
    return frames, split


def source_data(source: str, turns: pl.DataFrame, context_windows: Mapping[str, int | None] | None = None) -> SourceData:
    """Quantities of one source (or of the pooled sources) from its canonical turns; ``context_windows``:
    the configured ``context_window`` per source (None or absent: the model family's default)."""
    turns = turns.sort("source", "trace_id", "turn_index")
    turns = turns.with_columns(training_column(turns).alias("train"),
                               pl.col("n_tool_calls").shift(1).over("source", "trace_id").alias("previous_tool_calls"))
    first = turns.filter(pl.col("turn_index") == 0)
    l1, basis = shared_prefix(first)
    frames, split = _values(turns, -(-l1 // BLOCK) * BLOCK)
    values, train = {}, {}
    for q, f in frames.items():
        f = f.drop_nulls("value")
        if f.height:
            values[q], train[q] = f["value"].to_numpy(), f["train"].fill_null(True).to_numpy()
    max_prompt = int(number(turns["prompt_tokens"].max() or 0, "max prompt_tokens"))
    cached = first.filter(pl.col("cached_tokens").is_not_null() & (pl.col("prompt_tokens") > 0))
    share_of_prompt = cached["cached_tokens"] / cached["prompt_tokens"]
    share = float(number(share_of_prompt.median(), "median turn-0 cached share")) if cached.height else None
    # the pooled set takes the model and configured window of the source with the most turns
    main = (turns.group_by("source").len().sort(["len", "source"], descending=[True, False])["source"][0]
            if turns.height else source)
    models = turns.filter(pl.col("source") == main)["model"].drop_nulls()
    model = str(models.mode().sort()[0]) if models.len() else None
    window = context_window(model, (context_windows or {}).get(main), max_prompt)
    return SourceData(source, values, train, l1, basis, max_prompt, window,
                      end_hazard(turns, window.tokens) if max_prompt else None, split,
                      turns.select("source", "trace_id").n_unique(), model, share, sorted(turns["source"].unique().to_list()))
