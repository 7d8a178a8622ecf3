"""Fitting benchmark (issue: fits; issue 8 §4): fit every quantity of 10,000 canonical turns (target <= 10 s),
and of all the real turns in ../shared/data; per quantity of mini-swe-agent and the pooled set, the chosen
fit's in-sample KS beside its held-out KS and the train-vs-held-out noise floor (target: held-out <= floor +
0.03); then every profile's round trip (5,000 generated sessions, two-sample KS against the source and, for a
profile fitted on the training traces, against the held-out traces).

Run: ``uv run python benchmarks/bench_fits.py``.
"""

from __future__ import annotations

import time
from pathlib import Path

import polars as pl

from agenttrace_pipeline.fitting.export import export_profiles
from agenttrace_pipeline.fitting.holdout import HELDOUT_MARGIN
from agenttrace_pipeline.fitting.quantities import POOLED
from agenttrace_pipeline.fitting.run import fit_all, fits_frame
from agenttrace_pipeline.fitting.summary import roundtrip_md
from agenttrace_pipeline.sources.canonical import ARRIVAL_SCHEMA
from agenttrace_pipeline.sources.registry import ingest, load_sources

REPORTED = ("mini_swe_agent_chat", POOLED)


def _ingest() -> tuple[pl.DataFrame, pl.DataFrame, set[str]]:
    turns, arrivals, samples = [], [], set()
    for spec in load_sources():
        resolved, parsed = ingest(spec)
        turns.append(parsed.turns_frame())
        arrivals.append(parsed.arrivals_frame())
        if resolved.used_fallback:
            samples.add(spec.name)
    return pl.concat(turns), pl.concat(arrivals), samples


def _ten_thousand(all_turns: pl.DataFrame) -> pl.DataFrame:
    """10,000 turns: whole traces of the real sources, topped up by resampling traces of the largest one."""
    traces = all_turns.select("source", "trace_id").unique(maintain_order=True)
    picked, n, i = [], 0, 0
    while n < 10_000:
        src, tid = traces.row(i % traces.height)
        t = all_turns.filter((pl.col("source") == src) & (pl.col("trace_id") == tid))
        picked.append(t.with_columns(trace_id=pl.lit(f"{tid}#{i}")))
        n += t.height
        i += 1
    return pl.concat(picked).head(10_000)


def _heldout_table(fits: pl.DataFrame) -> None:
    print(f"\n| source | quantity | chosen | n (train / held out) | KS in-sample | KS held-out | noise floor | "
          f"held-out <= floor + {HELDOUT_MARGIN} |\n|---|---|---|---|---|---|---|---|")
    rows = fits.filter(pl.col("chosen") & pl.col("source").is_in(REPORTED)).sort("source", "quantity")
    for r in rows.iter_rows(named=True):
        ok = r["ks_heldout"] is not None and r["ks_heldout"] <= r["ks_noise_floor"] + HELDOUT_MARGIN
        print(f"| {r['source']} | {r['quantity']} | {r['family']} | {r['n']:,} ({r['n_train']:,} / {r['n_heldout']:,}) | "
              f"{r['ks']:.3f} | {r['ks_heldout']:.3f} | {r['ks_noise_floor']:.3f} | {'yes' if ok else 'NO'} |")


def main() -> None:
    all_turns, all_arrivals, samples = _ingest()
    print(f"## fitting benchmark\n\nbundled samples (left out of the pooled set): {sorted(samples) or 'none'}\n")
    for label, t, a in (("10,000 turns (no arrivals)", _ten_thousand(all_turns), pl.DataFrame(schema=ARRIVAL_SCHEMA)),
                        (f"all real turns ({all_turns.height:,}) + arrivals ({all_arrivals.height:,})", all_turns, all_arrivals)):
        t0 = time.perf_counter()
        run = fit_all(t, a, samples=samples)
        dt = time.perf_counter() - t0
        rows = fits_frame(run)
        print(f"- {label}: {rows.filter('chosen').height} quantities, {rows.height} candidate fits (bootstrap intervals, "
              f"held-out refits) in {dt:.2f} s (target <= 10 s for 10,000 turns)")
    _heldout_table(rows)
    t0 = time.perf_counter()
    out = export_profiles(all_turns, rows, Path("profiles"), samples=samples,
                          arrival_files=all_arrivals["file"].unique().to_list())
    print(f"\n{len(out.profiles)} profiles with their round trips in {time.perf_counter() - t0:.1f} s "
          f"(low confidence: {out.table.filter(pl.col('confidence') == 'low')['profile'].to_list()})\n")
    print(roundtrip_md(out.roundtrip.filter(pl.col("profile").is_in([f"fitted_{s}" for s in REPORTED]))))
    print("failing round trips:", out.failing() or "none")


if __name__ == "__main__":
    main()
