"""Fitted distributions and the generator profiles exported from them (wiring only: the work is in fitting/)."""

import dagster as dg
import orjson
import polars as pl

from agenttrace_pipeline import settings
from agenttrace_pipeline.fitting import schemas, summary
from agenttrace_pipeline.fitting.export import content_fingerprint, export_profiles, source_fingerprints
from agenttrace_pipeline.fitting.report import render_run
from agenttrace_pipeline.fitting.run import fit_all, fits_frame
from agenttrace_pipeline.lib.warehouse import WarehouseResource, record_lineage
from agenttrace_pipeline.sources.canonical import ARRIVAL_SCHEMA, TURN_SCHEMA
from agenttrace_pipeline.sources.config import SourceConfigError, load_sources
from agenttrace_pipeline.store.atomic import atomic_writer, sha256_file
from agenttrace_pipeline.store.reading import read_all_sources
from agenttrace_pipeline.store.warehouse import Warehouse

ROUNDTRIP_CHECK = "profile_roundtrip_within_targets"


def _samples(wh: Warehouse) -> set[str]:
    """Sources whose last ingest fell back to their bundled sample (``source_ingest_stats.used_fallback``)."""
    stats = read_all_sources(wh, "source_ingest_stats")
    return set(stats.filter("used_fallback")["source"].to_list()) if "used_fallback" in stats.columns else set()


def _context_windows() -> dict[str, int | None]:
    """Each configured source's context window (an invalid sources file already failed the source assets)."""
    try:
        return {s.name: s.context_window for s in load_sources()}
    except SourceConfigError:
        return {}


def _read_fits(wh: Warehouse) -> pl.DataFrame:
    return read_all_sources(wh, "distribution_fits", schemas.DISTRIBUTION_FITS)


@dg.asset(
    deps=["agent_turns", "arrivals"], kinds={"duckdb", "parquet", "html"},
    check_specs=[
        dg.AssetCheckSpec("every_quantity_has_a_chosen_fit", asset="distribution_fits", blocking=True,
                          description="Every fitted (source, quantity) has exactly one chosen fit."),
        dg.AssetCheckSpec("chosen_fits_within_ks_threshold", asset="distribution_fits",
                          description="The chosen fit's one-sample KS is below its threshold (0.05 for new tokens, "
                          "output and gaps; 0.08 for turns and initial context; the 5 % critical value of the KS "
                          "when that is larger, for few values); otherwise a warning with the reason."),
    ],
)
def distribution_fits(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    """Per source (and pooled over the coding-agent sources with real data): initial context, its L2 part
    beyond the shared prefix, new input tokens, output tokens (streaming usage snapshots left out), inter-turn
    gaps (and their agentic and human parts where a source has both) and turns per session, each fitted by MLE
    with lognormal, gamma, Weibull and log-logistic candidates (plus exponential and a two-component mixture
    for gaps), chosen by AIC, checked by KS and Anderson–Darling, with bootstrap intervals — or an empirical
    quantile table when no family fits, or when there are too few values (low confidence). Every candidate is
    also refitted on 70 % of the traces and scored on the other 30 % (``ks_heldout``, beside the noise floor
    ``ks_noise_floor``). Arrival-trace inter-arrival times are classified Poisson or bursty. Table
    ``distribution_fits`` and the offline report ``outputs/fits/fit_report.html``."""
    wh = warehouse.get()
    turns, arr = read_all_sources(wh, "agent_turns", TURN_SCHEMA), read_all_sources(wh, "arrivals", ARRIVAL_SCHEMA)
    run = fit_all(turns, arr, samples=_samples(wh), context_windows=_context_windows())
    df = fits_frame(run)
    fitted = df["source"].unique().sort().to_list()
    files = [wh.write_partition("distribution_fits", "source", src, df.filter(pl.col("source") == src).drop("source")
                                .with_columns(run_id=pl.lit(context.run.run_id)))
             for src in fitted]
    # fits of sources this run did not fit (removed from the sources config) would outlive their data
    for stale in sorted(set(wh.partition_values("distribution_fits")) - set(fitted)):
        wh.drop_partition("distribution_fits", "source", stale)
    report = settings.output_root() / "fits" / "fit_report.html"
    with atomic_writer(report) as fh:
        fh.write(render_run(run).encode())
    inputs = {f"agent_turns/{s}": sha for s, sha in source_fingerprints(turns).items()} | {"arrivals": content_fingerprint(arr)}
    record_lineage(context, wh, inputs, files, df.height, {str(report): sha256_file(report)})
    counts, over = summary.chosen_per_quantity(df), summary.over_threshold(df)
    return dg.MaterializeResult(
        metadata={"dagster/row_count": df.height, "chosen": dg.MetadataValue.md(summary.chosen_md(df)),
                  "report": dg.MetadataValue.path(str(report)), "skipped": run.skipped,
                  "pooled": "none" if run.pooled is None else f"{run.pooled.members} {run.pooled.note}".strip(),
                  "arrival_processes": {k: v[2]["process"] for k, v in run.arrivals.items()}},
        check_results=[
            dg.AssetCheckResult(check_name="every_quantity_has_a_chosen_fit", passed=bool(counts.height) and (counts["k"] == 1).all(),
                                metadata={"quantities": counts.height}),
            dg.AssetCheckResult(check_name="chosen_fits_within_ks_threshold", passed=not over,
                                severity=dg.AssetCheckSeverity.WARN, metadata={"over_threshold": over or "none"}),
        ],
    )


@dg.asset(
    deps=[distribution_fits, "agent_turns"], kinds={"duckdb", "json"},
    check_specs=[dg.AssetCheckSpec(
        ROUNDTRIP_CHECK, asset="generator_profiles",
        description="Every profile's round trip is within target for every quantity: in-sample KS within its target and "
        "no worse than AIPerf's mean/median lognormals, held-out KS within the noise floor + 0.03; otherwise a "
        "warning naming the profile and quantity.")],
)
def generator_profiles(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """A generator config per source whose quantities all have a fit (low confidence, and saying why, when it
    has few sessions or comes from a bundled sample), and one pooled over the coding-agent sources with real
    data (with arrivals from the Azure code trace), written to the profiles folder (``AGENTTRACE_PROFILES``)
    and the warehouse (``generator_profiles``). Each is round-tripped: 2,000 sessions generated from it and
    compared with its source by two-sample KS, beside AIPerf's mean/median lognormals, and a profile fitted on
    70 % of the traces compared with the other 30 % beside their noise floor (``profile_roundtrip``)."""
    wh = warehouse.get()
    turns, fits = read_all_sources(wh, "agent_turns", TURN_SCHEMA), _read_fits(wh)
    arrival_files = read_all_sources(wh, "arrivals", ARRIVAL_SCHEMA)["file"].unique().sort().to_list()
    out_dir = settings.profiles_dir()
    result = export_profiles(turns, fits, out_dir, samples=_samples(wh), arrival_files=arrival_files,
                             context_windows=_context_windows())
    for name, profile in result.profiles.items():
        with atomic_writer(out_dir / f"{name}.json") as fh:
            fh.write(orjson.dumps(profile, option=orjson.OPT_INDENT_2) + b"\n")
    run_id = pl.lit(context.run.run_id)
    files = [wh.write_partition("generator_profiles", "run", "latest", result.table.with_columns(run_id=run_id)),
             wh.write_partition("profile_roundtrip", "run", "latest", result.roundtrip.with_columns(run_id=run_id))]
    record_lineage(context, wh, {"distribution_fits": content_fingerprint(fits)}
                   | {f"agent_turns/{s}": sha for s, sha in source_fingerprints(turns).items()}, files, result.table.height)
    failing = result.failing()
    for line in result.skipped:
        context.log.info(line)
    return dg.MaterializeResult(
        metadata={"dagster/row_count": result.table.height, "profiles": result.table["profile"].to_list(),
                  "profile_paths": {n: str(out_dir / f"{n}.json") for n in result.profiles},
                  "low_confidence": result.table.filter(pl.col("confidence") == "low")["profile"].to_list(),
                  "skipped": result.skipped or "none", "roundtrip": dg.MetadataValue.md(summary.roundtrip_md(result.roundtrip))},
        check_results=[dg.AssetCheckResult(check_name=ROUNDTRIP_CHECK, passed=not failing, severity=dg.AssetCheckSeverity.WARN,
                                           metadata={"failing": failing or "none"})],
    )
