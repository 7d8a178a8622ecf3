"""Session synthesis, vectorised across the sessions of a batch and advanced one turn at a time.

Reset-driven mode (the default): turn 0 is ``C0 = min(prefix + L2, max_prompt_tokens - 1)``; each later
candidate is ``C_t = C_{t-1} + out_{t-1} + new``. A candidate reaching ``max_prompt_tokens`` retires the
session (``forced_retire``, candidate dropped); otherwise it resets with
``p = base * (1 + (scaling - 1) * C_t / max_prompt_tokens)`` (``probabilistic_reset``, candidate dropped);
otherwise it is accepted and its output drawn. A primary chosen for a restart ends with ``restart_split``
once it has ``r ~ UniformInt[lo, hi)`` turns, and its continuation B starts from its accumulated context.

Explicit mode (``turns`` set): each session gets a target T and must reach it without overflowing; a
session that overflows is rebuilt (new draws) up to ``max_session_attempts`` times, then either the run
stops with an error naming it or a new T is drawn (``on_exhausted: resample``); with ``allow_truncation``
the partial session is kept as ``forced_retire``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agenttrace_pipeline.synth.batch import Batch
from agenttrace_pipeline.synth.config import SessionDistributionConfig
from agenttrace_pipeline.synth.distributions import Bounded, DelayMixture, make_dist, zipf_groups
from agenttrace_pipeline.synth.draws import DrawLog, Recorded, Sampler

END_REASONS = ("forced_retire", "probabilistic_reset", "restart_split", "target_turn_count")
FORCED, RESET, SPLIT, TARGET = range(4)
DEFAULT_ATTEMPTS = 100


class GenerationError(RuntimeError):
    """The config cannot produce the requested sessions (e.g. a turn target that never fits)."""


@dataclass
class Samplers:
    """One sampler per configured quantity; ``calibrated`` is the adjusted new-token lognormal, if any."""

    layer2: Sampler
    new_tokens: Sampler
    output: Sampler
    delay: Sampler
    turns: Sampler | None
    calibrated: Bounded | None = None

    @classmethod
    def of(cls, cfg: SessionDistributionConfig, new_tokens: Bounded | None = None, log: DrawLog | None = None) -> Samplers:
        """Samplers for ``cfg`` (``new_tokens`` replaces the configured new-token sampler); with ``log``, every
        value drawn is recorded there under the quantity's name."""
        nt = cfg.new_tokens_per_turn

        def rec(name: str, sampler):
            return sampler if log is None else Recorded(sampler, log, name)

        return cls(
            layer2=rec("layer2", make_dist(cfg.cache.layer2, floor=1)),
            new_tokens=rec("new_tokens_per_turn", new_tokens or make_dist(nt, bias=nt.bias, floor=1)),
            output=rec("generation_length", make_dist(cfg.generation_length, floor=1)),
            delay=rec("inter_turn_delay_ms", DelayMixture.of(cfg.inter_turn_delay)),
            turns=rec("turns_per_session", make_dist(cfg.turns, floor=1)) if cfg.turns is not None else None,
            calibrated=new_tokens,
        )

    @classmethod
    def for_config(cls, cfg: SessionDistributionConfig, log: DrawLog | None = None) -> Samplers:
        """Samplers with new tokens calibrated where the config asks for it (reset-driven mode)."""
        from agenttrace_pipeline.synth.calibration import calibrated_new_tokens

        calibrated = calibrated_new_tokens(cfg) if (cfg.turns is None and cfg.calibrate_new_tokens) else None
        return cls.of(cfg, calibrated, log)


def _assemble(c0, group, turn_sess, turn_new, turn_out, turn_delay, out0, n_turns, end, fin_in, fin_out) -> Batch:
    """Order per-turn records (appended wavefront by wavefront) into per-session row blocks."""
    n = c0.size
    sess = np.concatenate([np.arange(n), turn_sess])
    step = np.concatenate([np.zeros(n, np.int64), np.ones(turn_sess.size, np.int64)])
    order = np.lexsort((np.arange(sess.size), step, sess))  # session, then turn 0, then append order
    new = np.concatenate([c0, turn_new])[order]
    out = np.concatenate([out0, turn_out])[order]
    delay = np.concatenate([np.full(n, np.nan), turn_delay])[order]
    row_start = np.zeros(n + 1, np.int64)
    np.cumsum(n_turns, out=row_start[1:])
    return Batch(c0, group, row_start, new, out, delay, end, fin_in, fin_out)


def simulate_reset_driven(
    cfg: SessionDistributionConfig,
    s: Samplers,
    rng: np.random.Generator,
    c0: np.ndarray,
    group: np.ndarray,
    split_at: np.ndarray | None = None,
) -> Batch:
    """Grow sessions from turn-0 contexts ``c0`` until each ends. ``split_at[s] > 0`` marks a restart split."""
    n = c0.size
    limit = cfg.max_prompt_tokens
    out0 = s.output.sample_int(rng, n)
    ctx, last_out = c0.astype(np.int64).copy(), out0.copy()
    turns = np.ones(n, np.int64)
    end = np.full(n, -1, np.int8)
    recs_s: list[np.ndarray] = []
    recs_new: list[np.ndarray] = []
    recs_out: list[np.ndarray] = []
    recs_delay: list[np.ndarray] = []
    active = np.arange(n)
    while active.size:
        if split_at is not None:
            due = split_at[active] == turns[active]
            if due.any():
                end[active[due]] = SPLIT
                active = active[~due]
                if not active.size:
                    break
        k = active.size
        delay = s.delay.sample(rng, k)
        new = s.new_tokens.sample_int(rng, k)
        cand = ctx[active] + last_out[active] + new
        forced = cand >= limit
        if cfg.reset is not None:
            p = cfg.reset.base_probability * (1 + (cfg.reset.context_scaling - 1) * cand / limit)
            reset = ~forced & (rng.random(k) < p)
        else:
            reset = np.zeros(k, bool)
        end[active[forced]] = FORCED
        end[active[reset]] = RESET
        ok = ~(forced | reset)
        acc = active[ok]
        outs = s.output.sample_int(rng, acc.size)
        recs_s.append(acc)
        recs_new.append(new[ok])
        recs_out.append(outs)
        recs_delay.append(delay[ok])
        ctx[acc] = cand[ok]
        last_out[acc] = outs
        turns[acc] += 1
        active = acc
    return _assemble(c0.astype(np.int64), group, _cat(recs_s, np.int64), _cat(recs_new, np.int64),
                     _cat(recs_out, np.int64), _cat(recs_delay, np.float64), out0, turns, end, ctx, last_out)


def _cat(parts: list[np.ndarray], dtype: type[np.generic]) -> np.ndarray:
    """``parts`` joined as ``dtype`` (an empty array of it when there are none)."""
    return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype)


def initial_contexts(cfg: SessionDistributionConfig, s: Samplers, rng: np.random.Generator, n: int):
    """Group ids and turn-0 contexts ``min(prefix + L2, max - 1)`` for ``n`` primary sessions."""
    g = cfg.cache.layer1_5_groups
    group = zipf_groups(rng, n, g.num_groups, g.zipf_alpha)
    l2 = s.layer2.sample_int(rng, n)
    return group, np.minimum(cfg.prefix_tokens + l2, cfg.max_prompt_tokens - 1)


def simulate_explicit(
    cfg: SessionDistributionConfig, s: Samplers, rng: np.random.Generator, n: int, first_index: int = 0
) -> Batch:
    """Sessions with a target turn count each (see module docstring)."""
    t = cfg.turns
    assert t is not None and s.turns is not None
    limit = cfg.max_prompt_tokens
    target = s.turns.sample_int(rng, n)
    attempts = np.zeros(n, np.int64)
    parts: dict[int, tuple] = {}  # session -> (c0, group, new[], out[], delay[], end, fin_in, fin_out)
    todo = np.arange(n)
    while todo.size:
        group, c0 = initial_contexts(cfg, s, rng, todo.size)
        k = todo.size
        max_t = int(target[todo].max())
        new = s.new_tokens.sample_int(rng, k * max(max_t - 1, 1)).reshape(k, -1)[:, : max_t - 1]
        out = s.output.sample_int(rng, k * max_t).reshape(k, max_t)
        delay = s.delay.sample(rng, k * max(max_t - 1, 1)).reshape(k, -1)[:, : max_t - 1]
        # cumulative input of turn j >= 1: c0 + sum_{i<j} out_i + sum_{1<=i<=j} new_i
        cum = c0[:, None] + np.cumsum(out[:, :-1], axis=1) + np.cumsum(new, axis=1)
        col = np.arange(max_t - 1)[None, :]
        within = col < (target[todo] - 1)[:, None]
        over = (cum >= limit) & within
        overflow = over.any(axis=1)
        first_over = np.where(overflow, over.argmax(axis=1), max_t)  # index into later turns
        retry = []
        for j, sid in enumerate(todo.tolist()):
            if overflow[j] and not t.allow_truncation:
                retry.append(sid)
                continue
            n_later = int(first_over[j]) if overflow[j] else int(target[sid]) - 1
            fin_in = int(cum[j, n_later - 1]) if n_later else int(c0[j])
            parts[sid] = (int(c0[j]), int(group[j]), new[j, :n_later], out[j, : n_later + 1], delay[j, :n_later],
                          FORCED if overflow[j] else TARGET, fin_in, int(out[j, n_later]))
        todo = _retry(cfg, s, rng, np.array(retry, dtype=np.int64), target, attempts, first_index)
    return _gather([parts[i] for i in range(n)])


def _retry(cfg: SessionDistributionConfig, s: Samplers, rng: np.random.Generator, retry: np.ndarray,
           target: np.ndarray, attempts: np.ndarray, first_index: int) -> np.ndarray:
    """Count another attempt for the sessions in ``retry``; fail or redraw the targets of those out of attempts."""
    t = cfg.turns
    assert t is not None and s.turns is not None
    attempts_max = t.max_session_attempts or DEFAULT_ATTEMPTS
    if retry.size:
        attempts[retry] += 1
        spent = retry[attempts[retry] >= attempts_max]
        if spent.size and t.on_exhausted == "error":
            sid = int(spent[0])
            raise GenerationError(
                f"session {first_index + sid} (target {int(target[sid])} turns) did not fit below "
                f"max_prompt_tokens={cfg.max_prompt_tokens} in {attempts_max} attempts; set turns.allow_truncation, "
                "turns.on_exhausted='resample', or a larger max_prompt_tokens")
        if spent.size:  # resample the target and start counting again
            target[spent] = s.turns.sample_int(rng, spent.size)
            attempts[spent] = 0
    return retry


def _gather(rows: list[tuple]) -> Batch:
    """A batch from per-session tuples (c0, group, new[], out[], delay[], end, final input, final output)."""
    n_turns = np.array([len(r[2]) + 1 for r in rows], np.int64)
    row_start = np.zeros(len(rows) + 1, np.int64)
    np.cumsum(n_turns, out=row_start[1:])
    return Batch(
        c0=np.array([r[0] for r in rows], np.int64),
        group=np.array([r[1] for r in rows], np.int64),
        row_start=row_start,
        new=np.concatenate([np.concatenate([[r[0]], r[2]]) for r in rows]).astype(np.int64),
        out=np.concatenate([r[3] for r in rows]).astype(np.int64),
        delay=np.concatenate([np.concatenate([[np.nan], r[4]]) for r in rows]),
        end=np.array([r[5] for r in rows], np.int8),
        final_input=np.array([r[6] for r in rows], np.int64),
        final_output=np.array([r[7] for r in rows], np.int64),
    )


def restart_probabilities(p0: float, first: int, count: int, total: int) -> np.ndarray:
    """``p_i = p0 * (1 - progress / 0.75)`` for ``progress = i / (N - 1) < 0.75``, else 0."""
    i = np.arange(first, first + count, dtype=np.float64)
    progress = i / max(total - 1, 1)
    return np.where(progress < 0.75, p0 * (1 - progress / 0.75), 0.0)
