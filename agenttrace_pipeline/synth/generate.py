"""Generate an agentic-code Mooncake dataset: run directory with dataset.jsonl, manifest.json, quality.json.

Sessions are simulated in batches of primaries, each batch from its own ``SeedSequence(seed, (0, b))``
stream, and written as they are made, so memory does not grow with the session count (restart
continuations wait, already serialised, until their placement). Same seed + config + count ⇒
byte-identical dataset.jsonl.
"""

from __future__ import annotations

import math
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from agenttrace_pipeline import __version__
from agenttrace_pipeline.store.atomic import atomic_writer
from agenttrace_pipeline.synth.arrivals import gap_sampler
from agenttrace_pipeline.synth.calibration import calibrated_new_tokens
from agenttrace_pipeline.synth.config import SessionDistributionConfig
from agenttrace_pipeline.synth.distributions import Bounded, DelayMixture, int_target, make_dist
from agenttrace_pipeline.synth.engine import (
    END_REASONS,
    SPLIT,
    Batch,
    Samplers,
    initial_contexts,
    restart_probabilities,
    simulate_explicit,
    simulate_reset_driven,
)
from agenttrace_pipeline.synth.hash_ids import IdAllocator, IdText, id_text, join_ids, later_row, turn0_row
from agenttrace_pipeline.synth.quality import Metric, compare
from agenttrace_pipeline.trace.validator import ValidationReport, validate_file

BATCH = 20_000
SESSION_FIELDS = {
    "session_id": "String", "group_id": "Int64", "is_restart": "Boolean", "turns": "Int64",
    "initial_context": "Int64", "end_reason": "String", "timestamp": "Float64", "total_delay_ms": "Float64",
    "input_tokens": "Int64", "output_tokens": "Int64",
}
_ARRIVALS, _QUALITY = (1,), (2,)


def _rng(seed: int, key: tuple[int, ...]) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


@dataclass
class SynthesisResult:
    run_dir: Path
    dataset: Path
    manifest: dict[str, Any]
    quality: dict[str, Any]
    validation: ValidationReport | None
    seconds: float
    sessions: list[tuple] = field(default_factory=list)  # with collect_sessions: see SESSION_FIELDS

    def sessions_frame(self):
        """Per-session summaries as a polars frame (only with ``collect_sessions=True``)."""
        import polars as pl

        return pl.DataFrame(self.sessions, schema={k: getattr(pl, v) for k, v in SESSION_FIELDS.items()}, orient="row")

    @property
    def rows(self) -> int:
        return int(self.manifest["rows"])


@dataclass
class _Pending:
    """A restart continuation waiting for its placement, kept as numbers (rendered when written)."""

    sid: str
    length: int
    out0: int
    group: int
    earliest_ms: float
    reuse: tuple[int, int]  # Session A's whole L2 blocks: (first id, count)
    fresh: tuple[int, int]  # the rest of the turn-0 context: (first id, count)
    later_first_id: int  # later rows' ids are consecutive from here
    new: np.ndarray
    out: np.ndarray
    delay: np.ndarray
    end: int

    @property
    def rows(self) -> int:
        return 1 + int(self.new.size)


@dataclass
class _Writer:
    """Serialises sessions in output order, allocating hash ids and timestamps as it goes."""

    cfg: SessionDistributionConfig
    seed: int
    sink: Any
    gaps: Callable[[np.random.Generator, int], np.ndarray]
    arrivals_on: bool
    collect: bool = False  # keep one summary per session (for the warehouse's synthetic_sessions table)
    alloc: IdAllocator = field(init=False)
    clock_ms: float = 0.0
    rows: int = 0
    sessions: int = 0
    restarts: int = 0
    bytes: int = 0

    def __post_init__(self) -> None:
        self.alloc = IdAllocator(self.cfg)
        self.text = IdText()
        self._arr_rng = _rng(self.seed, _ARRIVALS)
        self._gap_buf: list[float] = []
        self._buf: list[str] = []
        self.summaries: list[tuple] = []

    def _next_ts(self, earliest: float = 0.0) -> float:
        if not self.arrivals_on:
            return 0.0
        if not self._gap_buf:
            self._gap_buf = self.gaps(self._arr_rng, 4096).tolist()[::-1]
        ts = self.clock_ms if self.sessions == 0 else self.clock_ms + self._gap_buf.pop()
        self.clock_ms = ts
        return max(ts, earliest)

    def flush(self) -> None:
        if self._buf:
            data = "".join(self._buf).encode()
            self.sink.write(data)
            self.bytes += len(data)
            self._buf.clear()

    def later_rows(self, sid: str, new: list[int], out: list[int], delay: list[float]) -> str:
        parts = []
        for n, o, d in zip(new, out, delay, strict=True):
            start, k = self.alloc.fresh(n)
            parts.append(later_row(sid, n, o, self.text.get(start, k), d))
        return "".join(parts)

    def primary(self, sid: str, c0: int, group: int, new: list[int], out: list[int], delay: list[float], end: int):
        """Write one primary session; returns (L2 start id, whole L2 blocks, timestamp, span of delays)."""
        bs = self.cfg.block_size
        l2 = c0 - self.cfg.prefix_tokens
        start, k = self.alloc.fresh(l2)
        ts = self._next_ts()
        ids = join_ids(self.alloc.prefix(group), self.text.get(start, k))
        self._buf.append(turn0_row(sid, c0, out[0], ids, ts, group, False))
        self._buf.append(self.later_rows(sid, new[1:], out[1:], delay[1:]))
        self.rows += len(new)
        self.sessions += 1
        span = float(sum(delay[1:]))
        if self.collect:
            self.summaries.append((sid, group, False, len(new), c0, END_REASONS[end], ts, span, sum(new), sum(out)))
        return start, l2 // bs, ts, span

    def continuation(self, p: _Pending) -> None:
        ts = self._next_ts(p.earliest_ms)
        ids = join_ids(self.alloc.prefix(p.group), id_text(*p.reuse), id_text(*p.fresh))
        self._buf.append(turn0_row(p.sid, p.length, p.out0, ids, ts, p.group, True))
        start, bs = p.later_first_id, self.cfg.block_size
        new, out, delay = p.new.tolist(), p.out.tolist(), p.delay.tolist()
        for n, o, d in zip(new, out, delay, strict=True):
            k = -(-n // bs)
            self._buf.append(later_row(p.sid, n, o, id_text(start, k), d))
            start += k
        self.rows += p.rows
        self.sessions += 1
        self.restarts += 1
        if self.collect:
            self.summaries.append((p.sid, p.group, True, p.rows, p.length, END_REASONS[p.end], ts,
                                   float(sum(delay)), p.length + sum(new), p.out0 + sum(out)))


def _targets(cfg: SessionDistributionConfig, s: Samplers) -> dict[str, tuple[float, float] | None]:
    prefix, cap = cfg.prefix_tokens, cfg.max_prompt_tokens - 1
    nt = cfg.new_tokens_per_turn
    return {
        "initial_context": int_target(s.layer2, transform=lambda q: np.minimum(prefix + q, cap)),
        "generation_length": int_target(s.output),
        "new_tokens_per_turn": int_target(make_dist(nt, bias=nt.bias, floor=1)),
        "inter_turn_delay_ms": DelayMixture.of(cfg.inter_turn_delay).target(),
        "turns_per_session": int_target(s.turns) if s.turns is not None else None,
    }


def synthesize(
    cfg: SessionDistributionConfig,
    *,
    num_sessions: int,
    seed: int,
    output_root: str | Path,
    config_name: str = "default",
    run_name: str | None = None,
    cli_args: list[str] | None = None,
    progress: Callable[[int], None] | None = None,
    validate: bool = True,
    batch_size: int = BATCH,
    collect_sessions: bool = False,
) -> SynthesisResult:
    """Generate ``num_sessions`` primary sessions (plus their restart continuations) into a run directory.

    The directory is ``<config>_<N>s_seed<seed>_<UTC YYYYMMDD-HHMMSS>`` under ``output_root`` unless
    ``run_name`` is given; it is written under a temporary name and renamed when complete (replacing a
    previous directory of the same name). The dataset is validated before returning unless
    ``validate=False``; an invalid dataset raises :class:`InvalidDataset` and is left in place for inspection.
    """
    if num_sessions < 1:
        raise ValueError(f"num_sessions must be >= 1, got {num_sessions}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    t0 = time.perf_counter()
    started = datetime.now(UTC)
    run_name = run_name or f"{config_name}_{num_sessions}s_seed{seed}_{started:%Y%m%d-%H%M%S}"
    root = Path(output_root)
    final_dir = root / run_name
    work_dir = root / f".{run_name}.partial"
    shutil.rmtree(work_dir, ignore_errors=True)
    work_dir.mkdir(parents=True)

    calibrated = calibrated_new_tokens(cfg) if (cfg.turns is None and cfg.calibrate_new_tokens) else None
    s = Samplers.of(cfg, calibrated)
    q_rng = _rng(seed, _QUALITY)
    metrics = {name: Metric(q_rng) for name in
               ("initial_context", "generation_length", "new_tokens_per_turn", "inter_turn_delay_ms",
                "turns_per_session", "final_context_utilization")}
    ends = np.zeros(len(END_REASONS), np.int64)
    n_batches = math.ceil(num_sessions / batch_size)
    pending: dict[int, list[_Pending]] = {}
    offset = math.ceil(num_sessions / 4)
    tag = f"s{seed}"

    with atomic_writer(work_dir / "dataset.jsonl") as sink:
        w = _Writer(cfg, seed, sink, gap_sampler(cfg.arrival), cfg.arrival.process != "none", collect_sessions)
        for b in range(n_batches):
            first = b * batch_size
            n = min(batch_size, num_sessions - first)
            rng = _rng(seed, (0, b))
            if cfg.turns is not None:
                batch = simulate_explicit(cfg, s, rng, n, first)
            else:
                group, c0 = initial_contexts(cfg, s, rng, n)
                split_at = None
                if cfg.restart_initial_probability > 0:
                    p = restart_probabilities(cfg.restart_initial_probability, first, n, num_sessions)
                    lo, hi = cfg.restart_turn_range
                    r = rng.integers(lo, hi, n)
                    split_at = np.where(rng.random(n) < p, r, 0)
                batch = simulate_reset_driven(cfg, s, rng, c0, group, split_at)
            _observe(metrics, ends, batch, cfg, primaries=True)

            rs, c0s, groups = batch.row_start.tolist(), batch.c0.tolist(), batch.group.tolist()
            new, out, delay, end = batch.new.tolist(), batch.out.tolist(), batch.delay.tolist(), batch.end.tolist()
            a_info: dict[int, tuple[int, int, float, float]] = {}
            for k in range(n):
                i = first + k
                lo_r, hi_r = rs[k], rs[k + 1]
                info = w.primary(f"sess-{tag}-{i:07d}", c0s[k], groups[k], new[lo_r:hi_r], out[lo_r:hi_r],
                                 delay[lo_r:hi_r], end[k])
                if end[k] == SPLIT:
                    a_info[k] = info
                for p in pending.pop(i, ()):
                    w.continuation(p)
                if len(w._buf) > 8192:
                    w.flush()
            if a_info:
                _continuations(cfg, s, rng, batch, a_info, first, offset, num_sessions, w, pending, tag, metrics, ends)
            w.flush()
            if progress is not None:
                progress(first + n)
        for i in sorted(pending):  # placements past the end (only when N is tiny)
            for p in pending[i]:
                w.continuation(p)
        w.flush()
        sha = sink.sha256

    dataset = work_dir / "dataset.jsonl"
    targets = _targets(cfg, s)
    quality = _quality(cfg, metrics, ends, targets, w, calibrated)
    manifest = {
        "tool": "agenttrace_pipeline",
        "tool_version": __version__,
        "generator": "agentic-code",
        "config_name": config_name,
        "config_sha256": cfg.digest(),
        "seed": seed,
        "num_sessions": num_sessions,
        "sessions_requested": num_sessions,
        "sessions_emitted": w.sessions,
        "restart_continuations": w.restarts,
        "rows": w.rows,
        "dataset_file": "dataset.jsonl",
        "dataset_sha256": sha,
        "dataset_bytes": w.bytes,
        "block_size": cfg.block_size,
        "created_utc": started.isoformat(timespec="seconds"),
        "cli_args": cli_args if cli_args is not None else [],
        "generation_params": cfg.to_json_dict(),
        "derived": _derived(cfg, s, calibrated),
    }
    for name, obj in (("manifest.json", manifest), ("quality.json", quality)):
        with atomic_writer(work_dir / name) as fh:
            fh.write(orjson.dumps(obj, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY) + b"\n")
    if final_dir.exists():
        shutil.rmtree(final_dir)
    work_dir.rename(final_dir)
    dataset = final_dir / "dataset.jsonl"
    report = None
    # Validated in this process after writing: a validator child fed through a pipe was measured slower
    # here (the two cores slow each other down on this allocation-heavy work).
    if validate:
        report = validate_file(dataset, cfg.block_size, max_errors=50)
        if not report.valid:
            raise InvalidDataset(dataset, report)
    return SynthesisResult(final_dir, dataset, manifest, quality, report, time.perf_counter() - t0, w.summaries)


class InvalidDataset(RuntimeError):
    def __init__(self, path: Path, report: ValidationReport) -> None:
        self.path, self.report = path, report
        shown = "\n  ".join(f"{path}:{v.line}: {v.field}: {v.reason}" for v in report.violations[:20])
        super().__init__(f"generated dataset failed validation ({report.violation_count} violations):\n  {shown}")


def _continuations(cfg, s, rng, batch: Batch, a_info, first, offset, total, w: _Writer, pending, tag, metrics, ends):
    """Simulate the B sessions of this batch's split primaries and queue them for their placement."""
    ks = np.array(sorted(a_info), dtype=np.int64)
    acc = np.minimum(batch.final_input[ks] + batch.final_output[ks], cfg.max_prompt_tokens - 1)
    bb = simulate_reset_driven(cfg, s, rng, acc, batch.group[ks])
    _observe(metrics, ends, bb, cfg, primaries=False)
    bs, prefix = cfg.block_size, cfg.prefix_tokens
    rs, out = bb.row_start.tolist(), bb.out.tolist()
    for j, k in enumerate(ks.tolist()):
        a_start, a_full, a_ts, a_span = a_info[k]
        i = first + k
        length = int(acc[j])
        fresh = w.alloc.fresh(length - prefix - a_full * bs)
        lo, hi = rs[j], rs[j + 1]
        later_new = bb.new[lo + 1:hi].astype(np.int32)
        later_first = w.alloc.next_id
        w.alloc.next_id += int((-(-later_new.astype(np.int64) // bs)).sum())
        p = _Pending(f"sess-{tag}-{i:07d}-r1", length, out[lo], int(batch.group[k]), a_ts + a_span,
                     (a_start, a_full), fresh, later_first, later_new, bb.out[lo + 1:hi].astype(np.int32),
                     bb.delay[lo + 1:hi].copy(), int(bb.end[j]))
        pending.setdefault(min(i + offset, total - 1), []).append(p)


def _observe(metrics: dict[str, Metric], ends: np.ndarray, b: Batch, cfg: SessionDistributionConfig, primaries: bool):
    later = np.ones(b.new.size, bool)
    later[b.row_start[:-1]] = False
    if primaries:
        metrics["initial_context"].add(b.c0)
    metrics["generation_length"].add(b.out)
    metrics["new_tokens_per_turn"].add(b.new[later])
    metrics["inter_turn_delay_ms"].add(b.delay[later])
    metrics["turns_per_session"].add(b.turns)
    metrics["final_context_utilization"].add(b.final_input / cfg.max_prompt_tokens)
    ends += np.bincount(b.end.astype(np.int64), minlength=len(END_REASONS))


def _derived(cfg: SessionDistributionConfig, s: Samplers, calibrated: Bounded | None) -> dict[str, Any]:
    nt = cfg.new_tokens_per_turn
    out = {
        "prefix_tokens": cfg.prefix_tokens,
        "layer1_blocks": cfg.layer1_blocks,
        "layer1_5_blocks": cfg.layer1_5_blocks,
        "layer2": s.layer2.describe(),
        "new_tokens_per_turn": make_dist(nt, bias=nt.bias, floor=1).describe(),
        "generation_length": s.output.describe(),
        "agentic_delay": s.delay.agentic.describe(),
        "human_delay": s.delay.human.describe(),
    }
    if calibrated is not None:
        out["new_tokens_per_turn_calibrated"] = calibrated.describe()
    if s.turns is not None:
        out["turns"] = s.turns.describe()
    return out


def _quality(cfg, metrics, ends, targets, w: _Writer, calibrated) -> dict[str, Any]:
    total = int(ends.sum())
    util = metrics.pop("final_context_utilization").summary()
    return {
        "config_summary": {
            "max_prompt_tokens": cfg.max_prompt_tokens,
            "block_size": cfg.block_size,
            "prefix_tokens": cfg.prefix_tokens,
            "mode": "explicit_turns" if cfg.turns is not None else "reset_driven",
            "restart_initial_probability": cfg.restart_initial_probability,
            "arrival": cfg.arrival.process,
            "new_tokens_calibrated": calibrated is not None,
        },
        "observed_vs_target": {name: compare(m, targets[name]) for name, m in metrics.items()},
        "session_stats": {
            "sessions_emitted": w.sessions,
            "primary_sessions": w.sessions - w.restarts,
            "restart_continuations": w.restarts,
            "rows": w.rows,
            "hash_id_space": w.alloc.next_id,
        },
        "session_end_stats": {
            "counts": {r: int(c) for r, c in zip(END_REASONS, ends, strict=True)},
            "fractions": {r: (int(c) / total if total else 0.0) for r, c in zip(END_REASONS, ends, strict=True)},
            "final_context_utilization": util,
        },
        "notes": [
            "targets are the configured distributions after their bounds (redraw, clamp, floor) and the "
            "context limit (initial_context = min(prefix + L2, max_prompt_tokens - 1)).",
            "initial_context counts primary sessions only; restart continuations start from their "
            "Session A's accumulated context.",
        ],
    }


