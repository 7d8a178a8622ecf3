"""The benchmark report page: fidelity, hit-rate curves, latency, simulated-vs-real comparisons and lineage.

Rendered on the server side into one self-contained HTML file (inline SVG, no script, no network). Every
value from the warehouse goes through :func:`~agenttrace_pipeline.reports.html.esc` (via ``table``), and each
table is cut at :data:`MAX_ROWS` rows with a note saying so, so the page stays small however many seeds exist.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import orjson
import polars as pl

from agenttrace_pipeline.reports.benchmark_data import BenchmarkData
from agenttrace_pipeline.reports.html import bar_chart, esc, line_chart, page, table

MAX_ROWS = 400
MAX_SERIES = 12  # hit-rate curves drawn (seed x policy, reference traces, measured replays)


def pct(v: object) -> str:
    return "–" if v is None else f"{float(v):.2%}"  # type: ignore[arg-type]


def num(v: object, digits: int = 3) -> str:
    if v is None:
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:,.{digits}f}"
    return f"{v:,}" if isinstance(v, int) else str(v)


def _table(df: pl.DataFrame, columns: Sequence[str], testid: str,
           fmt: Mapping[str, Callable[[object], str]] | None = None) -> str:
    """``df``'s ``columns`` as an HTML table (first MAX_ROWS rows); ``fmt``: a formatter per column."""
    fmt = fmt or {}
    rows = [[fmt.get(c, num)(r[c]) for c in columns] for r in df.head(MAX_ROWS).iter_rows(named=True)]
    more = f'<p class="note">first {MAX_ROWS:,} of {df.height:,} rows</p>' if df.height > MAX_ROWS else ""
    return table(list(columns), rows, testid) + more


def _fidelity(d: BenchmarkData) -> str:
    fits = _table(d["fits"], ["source", "quantity", "family", "n", "ks_in_sample", "ks_heldout", "ks_noise_floor",
                              "confidence"], "fits-table")
    rt = _table(d["roundtrip"], ["profile", "quantity", "n_data", "ks_profile", "target", "ks_heldout", "heldout_target",
                                 "passes"], "roundtrip-table")
    q = d["quality"]
    chart = bar_chart([f"{s} {m}" for s, m in zip(q["seed"], q["metric"], strict=True)][:16],
                      [abs(float(v)) for v in q["pct_error_mean"].fill_null(0.0)][:16], ylabel="|error of mean| %",
                      width=1000)
    quality = _table(q, ["seed", "metric", "target_mean", "observed_mean", "pct_error_mean", "pct_error_median"],
                     "quality-table")
    return ("<h2>Fidelity per quantity</h2>"
            '<p class="note">Chosen fit of every (source, quantity): one-sample KS on every trace (in sample) and of '
            "a refit on 70 % of the traces scored on the other 30 % (held out), beside the train-vs-held-out noise "
            "floor.</p>" + fits +
            "<h3>Profile round trip (generated sessions vs their source)</h3>" + rt +
            "<h3>Generated datasets: target vs observed</h3>" + f'<div class="card">{chart}</div>' + quality)


def _curves(d: BenchmarkData) -> str:
    curves, ref, hits = d["curves"], d["reference_curves"], d["hit_rates"]
    finite = curves.filter(pl.col("capacity_blocks").is_not_null())
    series: list[tuple[str, list, list]] = []
    dashed: list[bool] = []
    for (seed, policy), g in finite.group_by(["seed", "policy"], maintain_order=True):
        series.append((f"seed {seed} {policy} (simulated)", g["capacity_blocks"].to_list(), g["hit_rate"].to_list()))
        dashed.append(False)
    xs = finite["capacity_blocks"].to_list() + ref["capacity_blocks"].drop_nulls().to_list()
    span = [min(xs), max(xs)] if xs else []
    for (trace,), g in ref.filter(pl.col("capacity_blocks").is_not_null()).group_by(["trace"], maintain_order=True):
        series.append((f"{trace} reference trace (real)", g["capacity_blocks"].to_list(), g["hit_rate"].to_list()))
        dashed.append(True)
    for r in hits.filter(pl.col("served_server_counters").is_not_null()).iter_rows(named=True):
        if span:
            series.append((f"seed {r['seed']} replay on {r['endpoint_name']} (measured)", span,
                           [r["served_server_counters"]] * 2))
            dashed.append(True)
    chart = line_chart(series[:MAX_SERIES], xlabel="cache capacity (blocks)", ylabel="prefix hit rate", log_x=True,
                       y_range=(0.0, 1.0), dashed=dashed[:MAX_SERIES], width=900, height=340)
    cols = ["seed", "profile", "endpoint_name", "simulated_infinite_cache", "replay_simulator", "served_server_counters",
            "served_usage", "real_hit_rate"]
    return ("<h2>Hit rates: simulated and measured</h2>"
            '<p class="note">Solid: each seed\'s dataset through the KV-cache simulator; dashed: the real reference '
            "traces' curves and each replay's measured (server-counter) hit rate.</p>"
            f'<div class="card" data-testid="hit-rate-curves">{chart}</div>'
            + _table(hits, cols, "hit-rates-table", dict.fromkeys(cols[3:], pct)))


def _latency(d: BenchmarkData) -> str:
    lat = d["latency"]
    chart = bar_chart([f"seed {s} · {e}" for s, e in zip(lat["seed"], lat["endpoint_name"], strict=True)][:16],
                      [float(v) for v in lat["ttft_p99_ms"].fill_null(0.0)][:16], ylabel="TTFT p99 (ms)") if lat.height else ""
    cols = ["seed", "endpoint_name", "requests", "ttft_p50_ms", "ttft_p90_ms", "ttft_p99_ms", "e2e_p50_ms", "e2e_p99_ms"]
    ms = {c: (lambda v: num(v, 1)) for c in cols[3:]}
    return ("<h2>Latency percentiles per endpoint and seed</h2>"
            + (f'<div class="card" data-testid="latency-chart">{chart}</div>' if chart else "")
            + _table(lat, cols, "latency-table", ms))


def _comparisons(d: BenchmarkData) -> str:
    head = "<h2>Simulated vs real replays</h2>"
    if d.comparisons is None:
        return head + '<p data-testid="comparisons">none yet: no replay_comparisons rows in the warehouse</p>'
    return head + f'<div data-testid="comparisons">{_table(d.comparisons, d.comparisons.columns, "comparisons-table")}</div>'


def _checks(d: BenchmarkData) -> str:
    if d.checks is None:
        return ""
    failed = d.checks.filter(~pl.col("passed")).height
    cols = ["seed", "asset_key", "check_name", "passed", "severity", "description", "check_run_id"]
    shown = d.checks.sort("asset_key", "check_name", "seed", nulls_last=True).with_columns(
        pl.col("check_run_id").str.slice(0, 8), pl.col("description").fill_null(""))
    return (f'<h2>Checks</h2><p data-testid="checks-summary">{failed} failing of {d.checks.height} (latest verdict '
            "per check and seed; run ids shortened)</p>" + _table(shown, cols, "checks-table"))


def _lineage_block(seed: object, files: pl.DataFrame, mats: pl.DataFrame) -> str:
    first = files.row(0, named=True)
    chain = (f"<p>dataset <code>{esc(first['dataset_id'])}</code> (sha256 <code>{esc(first['dataset_sha256'])}</code>) "
             f"← profile <code>{esc(first['profile'])}</code> (config digest <code>{esc(first['config_sha256'])}</code>)")
    real = files.filter(pl.col("source").is_not_null())
    chain += (" ← sources " + ", ".join(f"<code>{esc(s)}</code>" for s in real["source"].unique(maintain_order=True))
              if real.height else " — a bundled profile: no source files behind it") + "</p>"
    src = _table(real, ["source", "file", "sha256"], f"lineage-files-{seed}") if real.height else ""
    runs = _table(mats.with_columns(pl.col("input_fingerprints").map_elements(
        lambda s: ", ".join(f"{k}={str(v)[:12]}" for k, v in orjson.loads(s).items()), return_dtype=pl.String),
        pl.col("run_id").str.slice(0, 8), pl.col("output_fingerprint").str.slice(0, 16)),
        ["asset_key", "run_id", "code_version", "input_fingerprints", "output_fingerprint", "row_count"],
        f"lineage-runs-{seed}")
    return (f'<details class="card" data-testid="lineage-{esc(seed)}"><summary>seed {esc(seed)}: '
            f"{esc(first['dataset_id'])}</summary>{chain}<div class=\"wide\">{src}{runs}</div></details>")


def _lineage(d: BenchmarkData) -> str:
    ds, mats = d["dataset_sources"], d["seed_lineage"]
    blocks = [_lineage_block(seed, g, mats.filter(pl.col("seed") == seed))
              for (seed,), g in ds.group_by(["seed"], maintain_order=True)][:MAX_ROWS]
    return ("<h2>Lineage back to the source files</h2>"
            '<p class="note">Each seed\'s results (dataset, quality, simulation, pages, replay) with the runs that '
            "made them and their fingerprints, back through the profile to the sha256 of every source file.</p>"
            + ("".join(blocks) or '<p class="note">no datasets yet</p>'))


def render(d: BenchmarkData, subtitle: str) -> str:
    """The whole report page."""
    seeds = d["dataset_sources"]["seed"].n_unique()
    summary = (f'<p data-testid="summary">{seeds} seed(s), {d["hit_rates"]["replay_id"].drop_nulls().n_unique()} '
               f'replay(s), {d["fits"].height} chosen fits, {len(d.fingerprints)} materialisations joined</p>')
    body = summary + _fidelity(d) + _curves(d) + _latency(d) + _comparisons(d) + _checks(d) + _lineage(d)
    # long paths and digests scroll inside their card instead of widening the page
    style = "<style>.wide{overflow-x:auto}.wide td{white-space:nowrap;font-family:monospace;font-size:.8rem}</style>"
    return page("Benchmark report", subtitle, style + body)
