"""One vocabulary for the fitted quantities, and where each one lives on the generator's side.

Fitting names a quantity after what a real trace records (``output_tokens``, ``inter_turn_gap_ms``); the
generator names its config fields and quality metrics after AIPerf (``generation_length``,
``inter_turn_delay_ms``). This table is the only place that maps one onto the other: profiles put each
fit into its config field, and the round trip reads each generated metric back under the fitting name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Quantity:
    """One fitted quantity: the generator config field its fit goes into (dotted path, None when the profile
    derives it) and the generator metric that measures it on a generated dataset (None when none does)."""

    name: str
    config_field: str | None
    generator_metric: str | None
    description: str


QUANTITIES: dict[str, Quantity] = {q.name: q for q in (
    Quantity("initial_context", None, "initial_context", "turn-0 prompt tokens (shared prefix + L2)"),
    Quantity("layer2_tokens", "cache.layer2", None, "turn-0 prompt tokens beyond the shared prefix (L2)"),
    Quantity("new_input_tokens", "new_tokens_per_turn", "new_tokens_per_turn", "new input tokens of a later turn"),
    Quantity("output_tokens", "generation_length", "generation_length", "completion tokens of a turn"),
    Quantity("inter_turn_gap_ms", "inter_turn_delay", "inter_turn_delay_ms", "time between a response and the next call"),
    Quantity("agentic_gap_ms", "inter_turn_delay.agentic_delay", None, "gap after a turn that called tools"),
    Quantity("human_gap_ms", "inter_turn_delay.human_delay", None, "gap after a turn without tool calls"),
    Quantity("turns_per_session", "turns", "turns_per_session", "LLM calls per trace"),
)}

# generator metric -> fitting quantity (the inverse of ``Quantity.generator_metric``)
BY_GENERATOR_METRIC: dict[str, str] = {q.generator_metric: q.name for q in QUANTITIES.values() if q.generator_metric}


def generator_metric(quantity: str) -> str:
    """The generator's metric name for a fitting quantity; KeyError names the quantity when it has none."""
    metric = QUANTITIES[quantity].generator_metric
    if metric is None:
        raise KeyError(f"{quantity}: the generator measures no metric for this quantity")
    return metric


def from_generator(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """Generated metrics keyed by the generator's names → the same values keyed by fitting quantity names."""
    unknown = sorted(set(metrics) - set(BY_GENERATOR_METRIC))
    if unknown:
        raise KeyError(f"generator metrics with no fitting quantity: {unknown}")
    return {BY_GENERATOR_METRIC[k]: v for k, v in metrics.items()}


def put(config: dict[str, Any], quantity: str, value: Any) -> None:
    """Set ``value`` at the quantity's config field in a generator config (nested dicts are created)."""
    path = QUANTITIES[quantity].config_field
    if path is None:
        raise KeyError(f"{quantity}: no generator config field takes this quantity")
    *parents, leaf = path.split(".")
    node = config
    for key in parents:
        node = node.setdefault(key, {})
    node[leaf] = value
