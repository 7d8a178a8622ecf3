"""Small synthetic multi-turn datasets sized for a tiny model on a CPU (prompts up to a few thousand tokens).

Two generator profiles that differ in every knob (prefix layers, context, new tokens per turn, reply length,
think time, arrival rate), so a calibration fitted on one is checked on data it has not seen:

* ``cpu-agent``: a coding agent — one shared 1,024-token system prefix, short tool results, short replies;
* ``cpu-chat``: a chat assistant — a 512-token prefix plus one of four group prefixes, longer user turns and
  replies, slower turns.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agenttrace_pipeline.synth.config import SessionDistributionConfig, parse_config

PROFILES: dict[str, dict[str, Any]] = {
    "cpu-agent": {
        "max_prompt_tokens": 6000, "block_size": 64,
        "cache": {"layer1_tokens": 1024, "layer1_5_tokens": 0, "layer1_5_groups": {"num_groups": 1, "zipf_alpha": 1.0},
                  "layer2": {"mean": 700, "median": 500, "min": 64, "max": 3000}},
        "new_tokens_per_turn": {"mean": 260, "median": 150, "min": 8, "max": 1500},
        "generation_length": {"mean": 40, "median": 30, "min": 8, "max": 128},
        "inter_turn_delay": {"agentic_fraction": 0.85, "agentic_delay": {"mean": 400, "median": 250, "max": 3000},
                             "human_delay": {"mean": 2500, "median": 1800, "max": 8000}},
        "reset": {"base_probability": 0.08, "context_scaling": 2.0},
        "restart_initial_probability": 0.0,
        "arrival": {"process": "poisson", "rate_per_s": 3.0},
        "calibrate_new_tokens": False,
    },
    "cpu-chat": {
        "max_prompt_tokens": 7000, "block_size": 64,
        "cache": {"layer1_tokens": 512, "layer1_5_tokens": 256, "layer1_5_groups": {"num_groups": 4, "zipf_alpha": 1.2},
                  "layer2": {"mean": 1200, "median": 900, "min": 64, "max": 4000}},
        "new_tokens_per_turn": {"mean": 420, "median": 300, "min": 16, "max": 2000},
        "generation_length": {"mean": 70, "median": 56, "min": 16, "max": 160},
        "inter_turn_delay": {"agentic_fraction": 0.5, "agentic_delay": {"mean": 600, "median": 400, "max": 3000},
                             "human_delay": {"mean": 2000, "median": 1500, "max": 6000}},
        "reset": {"base_probability": 0.12, "context_scaling": 2.0},
        "restart_initial_probability": 0.0,
        "arrival": {"process": "poisson", "rate_per_s": 2.0},
        "calibrate_new_tokens": False,
    },
}


def profile(name: str) -> SessionDistributionConfig:
    """The validated generator config of profile ``name`` (one of :data:`PROFILES`)."""
    if name not in PROFILES:
        raise ValueError(f"unknown CPU workload profile {name!r}; known: {', '.join(PROFILES)}")
    return parse_config(PROFILES[name], f"calibration profile {name}")


def make_dataset(name: str, *, sessions: int, seed: int, root: Path) -> Path:
    """Generate ``sessions`` sessions of profile ``name`` with ``seed`` under ``root``; returns dataset.jsonl.

    The run directory is named ``<profile>_<sessions>s_seed<seed>`` and regenerated each call (same seed ⇒
    the same bytes)."""
    from agenttrace_pipeline.synth.generate import synthesize

    res = synthesize(profile(name), num_sessions=sessions, seed=seed, output_root=root, config_name=name,
                     run_name=f"{name}_{sessions}s_seed{seed}", check_free_space=False)
    return Path(res.dataset)
