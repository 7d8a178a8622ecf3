"""The inter-turn delay as two components, agentic (tool) and human, or explicitly one.

The generator draws a gap from ``agentic_delay`` with probability ``agentic_fraction``, else from
``human_delay``. A gap is agentic when the turn before it called tools (the agent waited for its tools), and
human when that turn called none (the next prompt came from a person). Where a source does not count tool
calls, a two-component lognormal mixture on the gaps separates them instead, if it explains them better
than one lognormal (BIC). Either way, when a component has too few gaps to be fitted, the profile says it
uses one component and why: it never copies one component into the other.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from agenttrace_pipeline.fitting.families import fit_family
from agenttrace_pipeline.fitting.mixture import fit_lognormal_mixture

MIN_COMPONENT_GAPS = 5  # fewer gaps than this cannot be fitted as a component of their own
MIN_LABELLED_SHARE = 0.9  # tool-call counts must be known for this share of gaps to label them
BIC_MARGIN = 10.0  # a mixture must beat one lognormal by this much BIC to count as two components


@dataclass(frozen=True, slots=True)
class DelaySplit:
    """Which gaps are agentic (``agentic[i]``), how that was decided, and how many components the profile uses."""

    agentic: np.ndarray
    components: int
    basis: str
    reason: str

    def summary(self) -> dict[str, Any]:
        n_agentic = int(self.agentic.sum())
        return {"components": self.components, "agentic_gaps": n_agentic, "human_gaps": int(self.agentic.size - n_agentic),
                "basis": self.basis, "reason": self.reason}


def split_gaps(gaps: np.ndarray, previous_tool_calls: np.ndarray) -> DelaySplit:
    """``gaps`` (ms) and the tool calls of the turn before each gap (NaN where unknown)."""
    n = gaps.size
    known = ~np.isnan(previous_tool_calls)
    if n and known.mean() >= MIN_LABELLED_SHARE:
        agentic = ~(known & (previous_tool_calls == 0))  # unknown counts stay agentic: tools are the norm
        n_human = int(n - agentic.sum())
        basis = "tool calls of the turn before the gap"
        if n_human >= MIN_COMPONENT_GAPS and n - n_human >= MIN_COMPONENT_GAPS:
            return DelaySplit(agentic, 2, basis, f"{n - n_human} gaps follow tool calls, {n_human} follow a turn without")
        if n_human == 0:
            return DelaySplit(agentic, 1, basis, "every gap follows a turn that called tools: no human turns in this source")
        which = "human" if n_human < MIN_COMPONENT_GAPS else "agentic"
        return DelaySplit(np.ones(n, dtype=bool), 1, basis,
                          f"only {min(n_human, n - n_human)} {which} gaps (< {MIN_COMPONENT_GAPS}): one component "
                          "describes all gaps")
    return _split_by_mixture(gaps)


def _split_by_mixture(gaps: np.ndarray) -> DelaySplit:
    basis = "two-component lognormal mixture on the gaps (the source has no tool-call counts)"
    x = np.maximum(gaps.astype(float), 1e-3)
    if x.size < 2 * MIN_COMPONENT_GAPS or np.unique(x).size < 4:
        return DelaySplit(np.ones(x.size, dtype=bool), 1, basis, f"{x.size} gaps: too few to separate two components")
    mix, one = fit_lognormal_mixture(x), fit_family("lognormal", x)
    if not mix.bic < one.bic - BIC_MARGIN:
        return DelaySplit(np.ones(x.size, dtype=bool), 1, basis,
                          f"one lognormal explains the gaps as well as two (BIC {one.bic:,.1f} vs {mix.bic:,.1f})")
    p = mix.params
    y = np.log(x)
    log_lik = [math.log(p[f"weight_{k}"]) - np.log(p[f"sigma_{k}"]) - 0.5 * ((y - p[f"mu_{k}"]) / p[f"sigma_{k}"]) ** 2
               for k in (0, 1)]
    agentic = log_lik[0] >= log_lik[1]  # component 0 has the smaller median: the fast, agentic one
    n_human = int(x.size - agentic.sum())
    if min(n_human, x.size - n_human) < MIN_COMPONENT_GAPS:
        return DelaySplit(np.ones(x.size, dtype=bool), 1, basis,
                          f"the mixture leaves {min(n_human, x.size - n_human)} gaps in one component (< {MIN_COMPONENT_GAPS})")
    return DelaySplit(agentic, 2, basis, f"BIC {mix.bic:,.1f} (two) vs {one.bic:,.1f} (one lognormal)")


def delay_config(split: DelaySplit, gap: dict[str, Any], agentic: dict[str, Any] | None,
                 human: dict[str, Any] | None) -> dict[str, Any]:
    """The generator's ``inter_turn_delay`` block from the split and the distribution configs of all gaps
    (``gap``), the agentic ones and the human ones (the last two only with two components)."""
    if split.components == 2:
        if agentic is None or human is None:
            raise ValueError("two delay components need an agentic and a human distribution")
        return {"components": 2, "agentic_fraction": round(float(split.agentic.mean()), 4),
                "agentic_delay": agentic, "human_delay": human, "basis": split.basis}
    # one component: every gap is drawn from it; human_delay is left out (the generator never draws it
    # at agentic_fraction 1.0), and the reason is written beside it
    return {"components": 1, "agentic_fraction": 1.0, "agentic_delay": gap, "basis": split.basis,
            "reason": split.reason}
