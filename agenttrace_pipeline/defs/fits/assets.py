"""Fitted distributions and the generator profiles exported from them."""

import hashlib

import dagster as dg
import orjson
import polars as pl

from agenttrace_pipeline import settings
from agenttrace_pipeline.defs.lib.warehouse import WarehouseResource, record_lineage
from agenttrace_pipeline.defs.sources.assets import SPECS, agent_turns, arrivals, read_by_source
from agenttrace_pipeline.fitting.profile import PROFILE_QUANTITIES, build_profile, roundtrip
from agenttrace_pipeline.fitting.quantities import POOLED, QUANTITIES, source_data
from agenttrace_pipeline.fitting.report import render
from agenttrace_pipeline.fitting.run import fit_all, fits_frame
from agenttrace_pipeline.sources.canonical import ARRIVAL_SCHEMA, TURN_SCHEMA
from agenttrace_pipeline.store.atomic import atomic_writer, sha256_file
from agenttrace_pipeline.store.warehouse import Warehouse

ROUNDTRIP_SESSIONS = 5000
ROUNDTRIP_TARGETS = {"new_input_tokens": 0.05, "output_tokens": 0.05, "inter_turn_gap_ms": 0.05,
                     "turns_per_session": 0.08, "initial_context": 0.08}


def _fingerprints(wh: Warehouse, table: str) -> dict[str, str]:
    """sha256 of each source's rows (content only, not the run that wrote them), so profiles fitted from the
    same data are byte-identical."""
    out = {}
    for s in SPECS:
        path = wh.partition_path(table, "source", s.name)
        if path.exists():
            rows = pl.read_parquet(path).drop("run_id", strict=False)
            out[s.name] = hashlib.sha256(rows.hash_rows(seed=0).to_numpy().tobytes()).hexdigest()
    return out


@dg.asset(
    group_name="fits", code_version=settings.code_version(), deps=[agent_turns, arrivals], kinds={"duckdb", "parquet", "html"},
    check_specs=[
        dg.AssetCheckSpec("every_quantity_has_a_chosen_fit", asset="distribution_fits", blocking=True,
                          description="Every fitted (source, quantity) has exactly one chosen fit."),
        dg.AssetCheckSpec("chosen_fits_within_ks_threshold", asset="distribution_fits",
                          description="The chosen fit's one-sample KS is below its threshold (0.05 for new tokens, "
                          "output and gaps; 0.08 for turns and initial context); otherwise a warning with the reason."),
    ],
)
def distribution_fits(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    """Per source (and pooled over the coding-agent sources): initial context, its L2 part beyond the shared
    prefix, new input tokens, output tokens, inter-turn gaps (with a two-component agentic/human mixture) and
    turns per session, each fitted by MLE with lognormal, gamma, Weibull and log-logistic candidates (plus
    exponential for gaps), chosen by AIC, checked by KS and Anderson–Darling, with bootstrap intervals — or an
    empirical quantile table when no family fits; arrival-trace inter-arrival times classified Poisson or
    bursty. Table ``distribution_fits`` and the offline report ``outputs/fits/fit_report.html``."""
    wh = warehouse.get()
    turns, arr = read_by_source(wh, "agent_turns", TURN_SCHEMA), read_by_source(wh, "arrivals", ARRIVAL_SCHEMA)
    run = fit_all(turns, arr)
    df = fits_frame(run)
    files = [wh.write_partition("distribution_fits", "source", src, df.filter(pl.col("source") == src).drop("source")
                                .with_columns(run_id=pl.lit(context.run.run_id)))
             for src in df["source"].unique().sort().to_list()]
    report = settings.output_root() / "fits" / "fit_report.html"
    sections = [(s, [(qf, run.data[s].values[q]) for q, qf in fs.items()]) for s, fs in run.fits.items()]
    sections += [(f"arrivals: {name}", [(qf, gaps)]) for name, (qf, gaps, _) in run.arrivals.items()]
    with atomic_writer(report) as fh:
        fh.write(render(sections).encode())
    record_lineage(context, wh, {"agent_turns": orjson.dumps(_fingerprints(wh, "agent_turns")).decode()},
                   files, df.height, {str(report): sha256_file(report)})
    chosen = df.filter("chosen")
    groups = df.group_by("source", "quantity").agg(pl.col("chosen").sum().alias("k"))
    thresholds = {**{q: o["ks_threshold"] for q, o in QUANTITIES.items()}}
    over = chosen.filter(pl.col("ks") > pl.col("quantity").map_elements(lambda q: thresholds.get(q.split(":")[0], 0.05),
                                                                         return_dtype=pl.Float64))
    table = "| source | quantity | chosen | n | KS |\n|---|---|---|---|---|\n" + "".join(
        f"| {r['source']} | {r['quantity']} | {r['family']} | {r['n']:,} | {r['ks']:.3f} |\n" for r in chosen.iter_rows(named=True))
    return dg.MaterializeResult(
        metadata={"dagster/row_count": df.height, "chosen": dg.MetadataValue.md(table),
                  "report": dg.MetadataValue.path(str(report)), "skipped": run.skipped,
                  "arrival_processes": {k: v[2]["process"] for k, v in run.arrivals.items()}},
        check_results=[
            dg.AssetCheckResult(check_name="every_quantity_has_a_chosen_fit", passed=bool(groups.height) and (groups["k"] == 1).all(),
                                metadata={"quantities": groups.height}),
            dg.AssetCheckResult(check_name="chosen_fits_within_ks_threshold", passed=over.height == 0,
                                severity=dg.AssetCheckSeverity.WARN,
                                metadata={"over_threshold": [f"{r['source']}/{r['quantity']}: {r['family']} KS {r['ks']:.3f} "
                                                             f"({r['note']})" for r in over.iter_rows(named=True)] or "none"}),
        ],
    )


@dg.asset(group_name="fits", code_version=settings.code_version(), deps=[distribution_fits, agent_turns],
          kinds={"duckdb", "json"})
def generator_profiles(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """A generator config per source with enough data (and one pooled over the coding-agent sources, with
    arrivals from the Azure code trace) in ``assets_config/profiles/<name>.json`` and the warehouse
    (``generator_profiles``), each round-tripped: 5,000 sessions generated from it and compared with the source
    by two-sample KS, beside the same profile with AIPerf's mean/median lognormals (``profile_roundtrip``)."""
    wh = warehouse.get()
    turns = read_by_source(wh, "agent_turns", TURN_SCHEMA)
    fits = pl.read_parquet(wh.lake / "distribution_fits" / "*" / "data.parquet", hive_partitioning=True)
    chosen_rows = fits.filter("chosen")
    fingerprints = _fingerprints(wh, "agent_turns")
    arrival = _pooled_arrival(chosen_rows)
    profiles, rt_rows = [], []
    sources = sorted(set(turns["source"].unique().to_list())) + ([POOLED] if turns["source"].n_unique() > 1 else [])
    out_dir = settings.profiles_dir()
    for src in sources:
        rows = {r["quantity"]: r for r in chosen_rows.filter(pl.col("source") == src).iter_rows(named=True)}
        if not all(q in rows for q in PROFILE_QUANTITIES):
            context.log.info(f"{src}: no profile (missing fits for {[q for q in PROFILE_QUANTITIES if q not in rows]})")
            continue
        chosen = {q: {"family": r["family"], "params": orjson.loads(r["params"]), "fit_id": r["fit_id"],
                      "quantiles": orjson.loads(r["params"]).get("quantiles")} for q, r in rows.items()}
        data = source_data(src, turns if src == POOLED else turns.filter(pl.col("source") == src))
        fp = fingerprints if src == POOLED else {src: fingerprints.get(src, "")}
        profile = build_profile(src, data, chosen, fp, arrival if src == POOLED else None)
        name = f"fitted_{src}"
        with atomic_writer(out_dir / f"{name}.json") as fh:
            fh.write(orjson.dumps(profile, option=orjson.OPT_INDENT_2) + b"\n")
        for q, r in roundtrip(profile, data, ROUNDTRIP_SESSIONS).items():
            rt_rows.append({"profile": name, "quantity": q, **r, "target": ROUNDTRIP_TARGETS[q],
                            "passes": r["ks_profile"] <= ROUNDTRIP_TARGETS[q] and r["ks_profile"] <= r["ks_aiperf_baseline"]})
        profiles.append({"profile": name, "source": src, "path": str(out_dir / f"{name}.json"),
                         "config": orjson.dumps(profile).decode(), "fit_ids": orjson.dumps(profile["fit"]["fit_ids"]).decode(),
                         "source_fingerprints": orjson.dumps(fp).decode(), "run_id": context.run.run_id})
    prof_df, rt_df = pl.DataFrame(profiles), pl.DataFrame(rt_rows)
    files = [wh.write_partition("generator_profiles", "run", "latest", prof_df),
             wh.write_partition("profile_roundtrip", "run", "latest", rt_df.with_columns(run_id=pl.lit(context.run.run_id)))]
    record_lineage(context, wh, {"distribution_fits": str(fits.height), **fingerprints}, files, prof_df.height)
    table = "| profile | quantity | n | KS (profile) | KS (AIPerf mean/median) | target |\n|---|---|---|---|---|---|\n" + "".join(
        f"| {r['profile']} | {r['quantity']} | {r['n_data']:,} | {r['ks_profile']:.3f} | {r['ks_aiperf_baseline']:.3f} | "
        f"{r['target']} |\n" for r in rt_rows)
    return dg.MaterializeResult(metadata={"dagster/row_count": prof_df.height, "profiles": prof_df["profile"].to_list(),
                                          "roundtrip": dg.MetadataValue.md(table)})


def _pooled_arrival(chosen_rows: pl.DataFrame) -> dict | None:
    """Arrivals for the pooled profile: the Azure code trace (a coding workload) — Poisson at its rate when
    the exponential fits, else its inter-arrival times resampled."""
    rows = chosen_rows.filter(pl.col("quantity").str.starts_with("inter_arrival_ms:") & pl.col("quantity").str.contains("code"))
    if not rows.height:
        return None
    r = rows.row(0, named=True)
    spec = next((s for s in SPECS if s.name == r["source"]), None)
    if r["family"] == "exponential":
        return {"process": "poisson", "rate_per_s": round(1000.0 / orjson.loads(r["params"])["scale"], 4)}
    if spec is None:
        return None
    from agenttrace_pipeline.sources.registry import resolve

    files = [f for f in resolve(spec).files if "code" in f.name]
    return {"process": "trace", "trace": settings.portable(files[0])} if files else None
