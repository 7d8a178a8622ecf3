"""Fitting benchmark (issue: fits): fit every quantity of 10,000 canonical turns (target <= 10 s), and of
all the real turns in ../shared/data; then the round trip of the fitted profiles (5,000 generated sessions
each, two-sample KS against the source, beside AIPerf's mean/median lognormals).

Run: ``uv run python benchmarks/bench_fits.py``.
"""

from __future__ import annotations

import time

import polars as pl

from agenttrace_pipeline.fitting.profile import PROFILE_QUANTITIES, build_profile, roundtrip
from agenttrace_pipeline.fitting.quantities import POOLED
from agenttrace_pipeline.fitting.run import fit_all, fits_frame
from agenttrace_pipeline.sources.canonical import ARRIVAL_SCHEMA
from agenttrace_pipeline.sources.registry import ingest, load_sources


def main() -> None:
    turns, arrivals = [], []
    for spec in load_sources():
        _, parsed = ingest(spec)
        turns.append(parsed.turns_frame())
        arrivals.append(parsed.arrivals_frame())
    all_turns, all_arrivals = pl.concat(turns), pl.concat(arrivals)
    # 10,000 turns: whole traces of the real sources, topped up by resampling traces of the largest one
    traces = all_turns.select("source", "trace_id").unique(maintain_order=True)
    picked, n = [], 0
    i = 0
    while n < 10_000:
        src, tid = traces.row(i % traces.height)
        t = all_turns.filter((pl.col("source") == src) & (pl.col("trace_id") == tid))
        picked.append(t.with_columns(trace_id=pl.lit(f"{tid}#{i}")))
        n += t.height
        i += 1
    ten_k = pl.concat(picked).head(10_000)
    print("## fitting benchmark\n")
    for label, t, a in (("10,000 turns (no arrivals)", ten_k, pl.DataFrame(schema=ARRIVAL_SCHEMA)),
                        (f"all real turns ({all_turns.height:,}) + arrivals ({all_arrivals.height:,})", all_turns, all_arrivals)):
        t0 = time.perf_counter()
        run = fit_all(t, a)
        dt = time.perf_counter() - t0
        rows = fits_frame(run)
        print(f"- {label}: {rows.filter('chosen').height} quantities, {rows.height} candidate fits (with bootstrap "
              f"intervals) in {dt:.2f} s (target <= 10 s for 10,000 turns)")
    print("\n| profile | quantity | n | KS profile | KS AIPerf mean/median | target |\n|---|---|---|---|---|---|")
    targets = {"new_input_tokens": 0.05, "output_tokens": 0.05, "inter_turn_gap_ms": 0.05, "turns_per_session": 0.08,
               "initial_context": 0.08}
    for src in ("mini_swe_agent_chat", POOLED):
        fits = run.fits[src]
        chosen = {q: {"family": f.chosen.family, "params": f.chosen.params, "quantiles": f.quantiles, "fit_id": q}
                  for q, f in fits.items()}
        if not all(q in chosen for q in PROFILE_QUANTITIES):
            continue
        t0 = time.perf_counter()
        rt = roundtrip(build_profile(src, run.data[src], chosen, {}), run.data[src])
        for q, r in rt.items():
            print(f"| {src} | {q} | {r['n_data']:,} | {r['ks_profile']:.3f} | {r['ks_aiperf_baseline']:.3f} | {targets[q]} |")
        print(f"| {src} | (round trip time) | | {time.perf_counter() - t0:.1f} s | | |")


if __name__ == "__main__":
    main()
