"""quality.json and the manifest's derived parameters of a generated dataset.

Targets come from the configured laws (``targets.Laws``), computed without sampling; the distribution
checks compare what every sampler drew with its law (``ks``), so a sampler defect fails a check even when
it also shifted the observed mean.
"""

from __future__ import annotations

from typing import Any

from agenttrace_pipeline.synth.config import SessionDistributionConfig
from agenttrace_pipeline.synth.distributions import make_dist
from agenttrace_pipeline.synth.draws import DrawLog
from agenttrace_pipeline.synth.engine import END_REASONS, Samplers
from agenttrace_pipeline.synth.ks import distribution_check
from agenttrace_pipeline.synth.quality import Observed, compare
from agenttrace_pipeline.synth.reference import Law, RedrawnLognormal
from agenttrace_pipeline.synth.targets import Laws


def laws_for(cfg: SessionDistributionConfig, samplers: Samplers) -> Laws:
    c = samplers.calibrated
    return Laws.of(cfg, RedrawnLognormal(c.mu, c.sigma, c.lo, c.hi) if c is not None else None)


def distribution_checks(laws: Laws, draws: DrawLog, arrival: Law | None = None) -> dict[str, dict[str, Any]]:
    """KS of every sampler's draws against its law (the calibrated one for new tokens, where calibrated)."""
    by_name: dict[str, Law | None] = {
        "layer2": laws.layer2, "new_tokens_per_turn": laws.new_tokens_drawn,
        "generation_length": laws.generation_length, "inter_turn_delay_ms": laws.inter_turn_delay,
        "turns_per_session": laws.turns, "arrival_gap_ms": arrival,
    }
    return {name: distribution_check(draws.sample(name), law, draws.drawn(name))
            for name, law in by_name.items() if law is not None and draws.drawn(name)}


def derived_params(cfg: SessionDistributionConfig, s: Samplers) -> dict[str, Any]:
    """The sampling parameters every quantity resolved to (lognormal mu/sigma, bounds), for the manifest."""
    nt = cfg.new_tokens_per_turn
    out = {
        "prefix_tokens": cfg.prefix_tokens,
        "layer1_blocks": cfg.layer1_blocks,
        "layer1_5_blocks": cfg.layer1_5_blocks,
        "layer2": s.layer2.describe(),
        "new_tokens_per_turn": make_dist(nt, bias=nt.bias, floor=1).describe(),
        "generation_length": s.output.describe(),
        "agentic_delay": s.delay.describe()["agentic_delay"],
        "human_delay": s.delay.describe()["human_delay"],
    }
    if s.calibrated is not None:
        out["new_tokens_per_turn_calibrated"] = s.calibrated.describe()
    if s.turns is not None:
        out["turns"] = s.turns.describe()
    return out


def quality_report(cfg: SessionDistributionConfig, s: Samplers, observed: Observed, draws: DrawLog, writer: Any,
                   arrival: Law | None) -> dict[str, Any]:
    """quality.json: config summary, observed vs target, distribution checks, session and end-reason stats."""
    laws = laws_for(cfg, s)
    targets = laws.quality_targets()
    metrics = dict(observed.metrics)
    util = metrics.pop("final_context_utilization").summary()
    ends = observed.ends
    total = int(ends.sum())
    return {
        "config_summary": {
            "max_prompt_tokens": cfg.max_prompt_tokens,
            "block_size": cfg.block_size,
            "prefix_tokens": cfg.prefix_tokens,
            "mode": "explicit_turns" if cfg.turns is not None else "reset_driven",
            "restart_initial_probability": cfg.restart_initial_probability,
            "arrival": cfg.arrival.process,
            "new_tokens_calibrated": s.calibrated is not None,
        },
        "observed_vs_target": {name: compare(m, targets[name]) for name, m in metrics.items()},
        "distribution_checks": distribution_checks(laws, draws, arrival),
        "session_stats": {
            "sessions_emitted": writer.sessions,
            "primary_sessions": writer.sessions - writer.restarts,
            "restart_continuations": writer.restarts,
            "rows": writer.rows,
            "hash_id_space": writer.hash_id_space,
        },
        "session_end_stats": {
            "counts": {r: int(c) for r, c in zip(END_REASONS, ends, strict=True)},
            "fractions": {r: (int(c) / total if total else 0.0) for r, c in zip(END_REASONS, ends, strict=True)},
            "final_context_utilization": util,
        },
        "notes": [
            "targets are computed from the configured distributions after their bounds (redraw, clamp, floor) "
            "and the context limit (initial_context = min(prefix + L2, max_prompt_tokens - 1)), not by sampling.",
            "initial_context counts primary sessions only; restart continuations start from their "
            "Session A's accumulated context.",
            "distribution_checks: Kolmogorov-Smirnov distance of every value each sampler drew (including "
            "candidates dropped at the context limit) from its configured law, against the DKW bound at "
            "alpha = 1e-6; new tokens are checked against the calibrated law the generator draws from.",
        ],
    }
