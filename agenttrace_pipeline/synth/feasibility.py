"""Config combinations that cannot produce a sensible dataset, found before any work starts.

Each check works from the smallest value every quantity can take (the lower end of its law's support),
so it rejects only what no draw could rescue: a turn-0 context so large that no session reaches a second
turn, a restart turn beyond the longest possible session, an explicit turn target that can never fit,
or a ``[min, max]`` range that holds none of a fitted distribution's probability.
"""

from __future__ import annotations

from typing import Any

import numpy as np

MIN_MASS = 1e-9  # a fitted family must keep at least this share of its probability inside [min, max]
_TOP = 1 << 62


def lowest(law: Any, minimum: int = 1) -> int:
    """The smallest integer an integer law gives positive probability (bisection on its CDF)."""
    lo, hi = minimum, _TOP
    if law.cdf(np.array([float(lo)]))[0] > 0:
        return lo
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if law.cdf(np.array([float(mid)]))[0] > 0 else (mid, hi)
    return hi


def check_in_range_mass(d: Any) -> None:
    """A fitted (non-lognormal) family must give ``[min, max]`` some probability: it is drawn conditioned on it."""
    if d.family == "lognormal":  # redraw-then-clamp is defined for any range (AIPerf semantics)
        return
    from agenttrace_pipeline.synth.reference import law_of

    mass = law_of(d).mass_in_range()  # type: ignore[attr-defined]
    if mass < MIN_MASS:
        raise ValueError(f"[min, max] = [{d.min}, {d.max}] holds {mass:.3g} of this {d.family} distribution's "
                         "probability: no draw can land there")


def check_feasible(cfg: Any) -> None:
    """Raise ``ValueError`` naming the fields when no session could be generated as configured."""
    from agenttrace_pipeline.synth.reference import int_law_of

    nt = cfg.new_tokens_per_turn
    limit, prefix = cfg.max_prompt_tokens, cfg.prefix_tokens
    l2 = lowest(int_law_of(cfg.cache.layer2))
    c0 = min(prefix + l2, limit - 1)
    out, new = lowest(int_law_of(cfg.generation_length)), lowest(int_law_of(nt, bias=nt.bias))
    wants_turns = cfg.turns is None or cfg.turns.max is None or cfg.turns.max >= 2
    if c0 + out + new >= limit and wants_turns:
        raise ValueError(
            f"no session can reach a second turn: the smallest turn-0 context ({c0:,} = shared prefix {prefix:,} + "
            f"cache.layer2 minimum {l2:,}) plus the smallest output (generation_length: {out:,}) and new input "
            f"(new_tokens_per_turn: {new:,}) reaches max_prompt_tokens ({limit:,}); every session would end at turn 1")
    most = 1 + (limit - 1 - c0) // (out + new)  # turns of a session drawing the smallest value every time
    lo_turn = cfg.restart_turn_range[0]
    if cfg.restart_initial_probability > 0 and lo_turn > most:
        raise ValueError(f"restart_turn_range starts at turn {lo_turn:,}, but no session can have more than {most:,} "
                         f"turns below max_prompt_tokens ({limit:,}): no restart would ever happen")
    if cfg.turns is not None and not cfg.turns.allow_truncation:
        least = lowest(int_law_of(cfg.turns))
        if least > most:
            raise ValueError(f"turns: the smallest target ({least:,} turns) never fits below max_prompt_tokens "
                             f"({limit:,}), where at most {most:,} turns fit; set turns.allow_truncation or lower turns")
