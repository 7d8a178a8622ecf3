"""``report.html``: every targeted distribution against its configured law, context growth, end reasons,
cache reuse per turn (cumulative context, infinite cache) and the LRU hit-rate curve by prefix layer."""

from __future__ import annotations

from typing import Any

import numpy as np

from agenttrace_pipeline.cachesim.simulate import prepare, sweep
from agenttrace_pipeline.cachesim.workload import LAYERS
from agenttrace_pipeline.reports import html as H
from agenttrace_pipeline.reports.data import RunData, context_per_request
from agenttrace_pipeline.reports.sample import first_sessions, sessions_within

CURVE_SAMPLE_REQUESTS = 30_000  # requests in the per-layer curve's sample (eight simulations of it)
CURVE_POINTS = 10
METRICS = {  # quality.json metric -> (what the x axis shows, log x)
    "initial_context": ("tokens at turn 0 (primary sessions)", False),
    "new_tokens_per_turn": ("new tokens per later turn", False),
    "generation_length": ("output tokens per turn", False),
    "inter_turn_delay_ms": ("delay before a later turn (ms)", True),
    "turns_per_session": ("turns per session", False),
}


def _laws(data: RunData) -> dict[str, Any]:
    """Configured law per metric (``{}`` when the manifest's generation parameters do not parse)."""
    from agenttrace_pipeline.synth.config import parse_config
    from agenttrace_pipeline.synth.targets import Laws

    try:
        laws = Laws.of(parse_config(data.manifest.get("generation_params") or {}, "manifest.json"))
    except ValueError:
        return {}
    return {"initial_context": laws.initial_context, "new_tokens_per_turn": laws.new_tokens,
            "generation_length": laws.generation_length, "inter_turn_delay_ms": laws.inter_turn_delay,
            "turns_per_session": laws.turns}


def observed(data: RunData) -> dict[str, np.ndarray]:
    """The observed values of each quality metric, counted as quality.json counts them."""
    w = data.workload
    first = w.sess_first[:-1]
    later = w.turn > 0
    return {"initial_context": w.input_len[first[~data.is_restart]].astype(float),
            "new_tokens_per_turn": w.input_len[later].astype(float),
            "generation_length": w.output_len.astype(float), "inter_turn_delay_ms": w.delay[later],
            "turns_per_session": np.diff(w.sess_first).astype(float)}


def _cdf_chart(name: str, values: np.ndarray, law: Any) -> str:
    label, log = METRICS[name]
    v = np.sort(values[values > 0] if log else values)
    if v.size == 0:
        return '<p class="note">no values</p>'
    lo, hi = np.quantile(v, [0.001, 0.999])
    lo = max(lo, 1e-3) if log else lo
    grid = np.geomspace(lo, hi, 160) if log and hi > lo else np.linspace(lo, hi, 160)
    series = [("observed", grid, np.searchsorted(v, grid, side="right") / v.size)]
    if law is not None:
        series.append(("target law", grid, np.clip(law.cdf(grid), 0.0, 1.0)))
    return H.line_chart(series, xlabel=label, ylabel="CDF", log_x=bool(log), y_range=(0.0, 1.0), dashed=[False, True])


def _distributions(data: RunData) -> str:
    laws, obs = _laws(data), observed(data)
    q = data.quality.get("observed_vs_target") or {}
    rows, cards = [], []
    for name in METRICS:
        m = q.get(name) or {}
        o = m.get("observed") or {}

        def cell(x: Any, pct: bool = False) -> str:
            return "–" if x is None else (f"{x:+.2f}%" if pct else f"{x:,.1f}")

        rows.append([name, cell(m.get("target_mean")), cell(o.get("mean")), cell(m.get("pct_error_mean"), True),
                     cell(m.get("target_median")), cell(o.get("median")), cell(m.get("pct_error_median"), True),
                     f"{o.get('count', 0):,}"])
        law = laws.get(name)
        what = "observed vs configured law" if law is not None else "observed (no configured law)"
        cards.append(f'<div class="card"><h3>{H.esc(name)}</h3><p class="note">{what}</p>'
                     f"{_cdf_chart(name, obs[name], law)}</div>")
    cols = ["metric", "target mean", "observed mean", "err", "target median", "observed median", "err", "count"]
    return (f"<h2>Targeted distributions</h2><p class=\"note\">From quality.json; the charts are the empirical CDF "
            f"of dataset.jsonl against the CDF of the law in manifest.json (after bounds and the context cap)."
            f"</p>{H.table(cols, rows, 'quality-table')}<div class=\"grid\">{''.join(cards)}</div>")


def _growth(data: RunData) -> str:
    w = data.workload
    ctx = context_per_request(w)
    t = np.minimum(w.turn, 31)
    order = np.argsort(t, kind="stable")
    edges = np.searchsorted(t[order], np.arange(33))
    turns, mean, p50, p90 = [], [], [], []
    for i in range(32):
        part = ctx[order[edges[i]:edges[i + 1]]]
        if part.size:
            turns.append(i)
            mean.append(part.mean())
            p50.append(np.percentile(part, 50))
            p90.append(np.percentile(part, 90))
    chart = H.line_chart([("mean", turns, mean), ("p50", turns, p50), ("p90", turns, p90)],
                         xlabel="turn index (31 = 31 and later)", ylabel="prompt tokens")
    return f'<div class="card"><h3>Context growth per turn</h3>{chart}</div>'


def _end_reasons(data: RunData) -> str:
    fr = (data.quality.get("session_end_stats") or {}).get("fractions") or {}
    names = [k for k, v in fr.items() if v]
    chart = H.bar_chart(names, [float(fr[k]) for k in names], ylabel="share of sessions", percent=True)
    return f'<div class="card"><h3>End reasons</h3>{chart}</div>'


def _reuse(data: RunData) -> str:
    bt = data.infinite.by_turn
    chart = H.line_chart([("hit tokens / prompt tokens", [b["turn"] for b in bt], [b["hit_rate"] for b in bt])],
                         xlabel="turn index", ylabel="cache reuse", y_range=(0.0, 1.0))
    return (f'<div class="card"><h3>Cache reuse per turn</h3><p class="note">Infinite cache, sessions in file '
            f"order, each turn's prompt = the session's whole context so far. Overall: "
            f'<b data-testid="theoretical-hit-rate">{data.infinite.hit_rate:.2%}</b></p>{chart}</div>')


def _layer_curve(data: RunData) -> str:
    w = data.workload
    k = sessions_within(w, CURVE_SAMPLE_REQUESTS, w.n_sessions)
    prep = prepare(first_sessions(w, k), "simple")
    top = max(prep.streams.n_blocks, 16)
    caps = sorted({int(c) for c in np.geomspace(16, min(top, 4096), CURVE_POINTS)})
    runs = sweep(prep, [dict(policy="lru", capacity=c, residency=False) for c in caps])
    series: list[tuple[str, Any, Any]] = [(name, caps, [r.by_layer[name]["hit_rate"] for r in runs]) for name in LAYERS
              if runs[-1].by_layer[name]["prompt_tokens"] > 0]
    series.append((f"all ({k:,} sessions)", caps, [r.hit_rate for r in runs]))
    full = np.unique(np.geomspace(1, max(data.prep.streams.n_blocks, 2), 60).astype(int))
    series.append((f"all, whole dataset ({w.n_sessions:,} sessions)", full, [data.curve.hit_rate(int(c)) for c in full]))
    chart = H.line_chart(series, xlabel="LRU capacity (blocks of 512 tokens)", ylabel="hit rate", log_x=True,
                         y_range=(0.0, 1.0), dashed=[False] * (len(series) - 1) + [True])
    return (f'<div class="card"><h3>LRU hit rate by prefix layer</h3><p class="note">By layer: the first {k:,} '
            f"sessions at {len(caps)} capacities; dashed: the whole dataset's curve from one stack-distance "
            f"pass.</p>{chart}</div>")


def render(data: RunData) -> str:
    """The whole report page."""
    w, m = data.workload, data.manifest
    facts = H.table(["run", "value"], [
        ["config", m.get("config_name", "?")], ["seed", m.get("seed", "?")], ["sessions", f"{w.n_sessions:,}"],
        ["rows", f"{w.n_requests:,}"], ["block size", w.block_size], ["layers from", w.layer_source]], "facts")
    body = (facts + _distributions(data) + "<h2>Sessions and cache</h2><div class=\"grid\">"
            + _growth(data) + _end_reasons(data) + _reuse(data) + _layer_curve(data) + "</div>")
    return H.page(f"Dataset report: {data.config_name}", str(data.run_dir.name), body)
