"""Synthetic agentic-code datasets per seed partition, their checks, and their quality table."""

import json
from pathlib import Path

import dagster as dg
import polars as pl
from pydantic import Field

from agenttrace_pipeline import settings
from agenttrace_pipeline.lib.warehouse import WarehouseResource, record_lineage
from agenttrace_pipeline.defs.partitions import seeds
from agenttrace_pipeline.store.atomic import sha256_file
from agenttrace_pipeline.store.warehouse import Warehouse
from agenttrace_pipeline.synth.checks import quality_problems, sessions_schema
from agenttrace_pipeline.synth.config import load_config
from agenttrace_pipeline.synth.generate import SynthesisResult, synthesize
from agenttrace_pipeline.trace.schema import read_trace_table, trace_table_schema
from agenttrace_pipeline.trace.validator import validate_file

CHECKS = {
    "rows_match_trace_schema": "Every row passes the pandera trace-table schema (types, positive lengths, "
    "hash-id count rule, turn-0 timestamp / later-turn delay).",
    "sessions_are_well_formed": "Per-session table passes its pandera schema; sessions and rows add up to the manifest.",
    "hash_ids_keep_one_block_size": "The whole file passes the validator's cross-row rules: contiguous sessions "
    "and one block size per hash id (restart continuations included).",
    "quality_within_tolerance": "Observed mean and median of every targeted metric within 2 % of target "
    "(or 4 standard errors for small datasets).",
}


class SyntheticDatasetConfig(dg.Config):
    profile: str = Field(default="default", description="Bundled config name, config JSON path or a manifest.json.")
    num_sessions: int = Field(default=1000, ge=1, description="Primary sessions per seed partition.")


def _seed(key: str) -> int:
    if not key.isdigit():
        raise dg.Failure(f"seed partition {key!r} is not a non-negative integer; add seeds like '42'")
    return int(key)


def _checks(res: SynthesisResult, max_prompt_tokens: int) -> tuple[dict[str, tuple[bool, str]], pl.DataFrame]:
    """Run the four checks on one generated dataset; returns {check: (passed, detail)} and its trace table."""
    out: dict[str, tuple[bool, str]] = {}
    table = read_trace_table(res.dataset)
    try:
        trace_table_schema(res.manifest["block_size"]).validate(table, lazy=True)
        out["rows_match_trace_schema"] = (True, f"{table.height:,} rows")
    except Exception as exc:  # pandera SchemaErrors
        out["rows_match_trace_schema"] = (False, str(exc)[:1500])
    sessions = res.sessions_frame()
    problems = []
    try:
        sessions_schema(max_prompt_tokens).validate(sessions, lazy=True)
    except Exception as exc:
        problems.append(str(exc)[:1500])
    if sessions.height != res.manifest["sessions_emitted"] or int(sessions["turns"].sum()) != res.rows:
        problems.append("session table does not add up to the manifest's sessions/rows")
    out["sessions_are_well_formed"] = (not problems, "; ".join(problems) or f"{sessions.height:,} sessions")
    report = validate_file(res.dataset, res.manifest["block_size"], max_errors=20)
    detail = "valid" if report.valid else "; ".join(str(v) for v in report.violations[:5])
    out["hash_ids_keep_one_block_size"] = (report.valid, f"{report.distinct_hash_ids:,} distinct ids, {detail}")
    misses = quality_problems(res.quality)
    out["quality_within_tolerance"] = (not misses, "; ".join(misses) or "all targeted metrics within tolerance")
    return out, table


def _quality_markdown(quality: dict) -> str:
    lines = ["| metric | target mean | observed mean | err | target median | observed median | err |",
             "|---|---|---|---|---|---|---|"]

    def f(v, pct=False):
        return "–" if v is None else (f"{v:+.2f} %" if pct else f"{v:,.1f}")

    for name, row in quality["observed_vs_target"].items():
        o = row["observed"]
        lines.append(f"| {name} | {f(row['target_mean'])} | {f(o.get('mean'))} | {f(row['pct_error_mean'], True)} | "
                     f"{f(row['target_median'])} | {f(o.get('median'))} | {f(row['pct_error_median'], True)} |")
    return "\n".join(lines)


@dg.asset(
    partitions_def=seeds,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="synthesis",
    code_version=settings.code_version(),
    kinds={"duckdb", "parquet"},
    check_specs=[dg.AssetCheckSpec(name, asset="synthetic_dataset", blocking=True, description=desc)
                 for name, desc in CHECKS.items()],
)
def synthetic_dataset(context: dg.AssetExecutionContext, config: SyntheticDatasetConfig, warehouse: WarehouseResource):
    """Multi-turn agentic-code Mooncake dataset (seed 000 semantics) for each seed partition: dataset.jsonl,
    manifest.json and quality.json under ``outputs/synthetic/<profile>_<N>s_seed<seed>/``, plus the warehouse
    tables ``synthetic_turns``, ``synthetic_sessions`` and ``synthetic_datasets`` (rows carry dataset_id and
    run_id). Checks run before the warehouse is written; a seed that fails a check is not written."""
    name, cfg = load_config(config.profile)
    wh = warehouse.get()
    root = settings.output_root() / "synthetic"
    verdicts: dict[str, dict[str, tuple[bool, str]]] = {}
    summary, total_rows = [], 0
    last = None
    for key in context.partition_keys:
        seed = _seed(key)
        context.log.info(f"seed {seed}: generating {config.num_sessions:,} sessions with profile {name!r}")
        res = synthesize(cfg, num_sessions=config.num_sessions, seed=seed, output_root=root, config_name=name,
                         run_name=f"{name}_{config.num_sessions}s_seed{seed}", validate=False, collect_sessions=True)
        checks, table = _checks(res, cfg.max_prompt_tokens)
        verdicts[key] = checks
        failed = [c for c, (ok, _) in checks.items() if not ok]
        if failed:
            context.log.error(f"seed {seed}: checks failed ({', '.join(failed)}); warehouse not written for it")
            continue
        written = _write(context, wh, key, name, res, table)
        total_rows += res.rows
        summary.append((key, res, written))
        last = res
    check_results = [
        dg.AssetCheckResult(
            check_name=c,
            passed=all(v[c][0] for v in verdicts.values()),
            metadata={k: v[c][1] for k, v in verdicts.items()},
        )
        for c in CHECKS
    ]
    meta: dict = {"dagster/row_count": total_rows, "seeds": list(verdicts), "profile": name,
                  "num_sessions": config.num_sessions}
    if last is not None:
        meta["quality"] = dg.MetadataValue.md(_quality_markdown(last.quality))
        meta["end_reasons"] = last.quality["session_end_stats"]["counts"]
        meta["output"] = dg.MetadataValue.path(str(last.run_dir))
        meta["sessions"] = last.manifest["sessions_emitted"]
        meta["dataset_id"] = summary[-1][2]
    return dg.MaterializeResult(metadata=meta, check_results=check_results)


def _write(context: dg.AssetExecutionContext, wh: Warehouse, key: str, name: str, res: SynthesisResult,
           table: pl.DataFrame) -> str:
    m = res.manifest
    dataset_id = f"{name}-{m['num_sessions']}s-seed{m['seed']}-{m['dataset_sha256'][:12]}"
    ids = {"dataset_id": pl.lit(dataset_id), "run_id": pl.lit(context.run.run_id)}
    files = [
        wh.write_partition("synthetic_turns", "seed", key, table.with_columns(**ids)),
        wh.write_partition("synthetic_sessions", "seed", key, res.sessions_frame().with_columns(**ids)),
        wh.write_partition("synthetic_datasets", "seed", key, pl.DataFrame([{
            "dataset_id": dataset_id, "profile": name, "num_sessions": m["num_sessions"],
            "sessions_emitted": m["sessions_emitted"], "restart_continuations": m["restart_continuations"],
            "rows": m["rows"], "path": str(res.run_dir), "dataset_sha256": m["dataset_sha256"],
            "config_sha256": m["config_sha256"], "tool_version": m["tool_version"], "run_id": context.run.run_id,
        }])),
    ]
    inputs = {"config": m["config_sha256"], "seed": key}
    outputs = {str(res.dataset): m["dataset_sha256"], str(res.run_dir / "quality.json"): sha256_file(res.run_dir / "quality.json")}
    record_lineage(context, wh, inputs, files, res.rows, outputs, partition_key=key)
    return dataset_id


@dg.asset(
    partitions_def=seeds,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="synthesis",
    code_version=settings.code_version(),
    deps=[synthetic_dataset],
    kinds={"duckdb", "parquet"},
)
def dataset_quality(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Target-vs-observed statistics of each seed's dataset as a warehouse table (``dataset_quality``): one
    row per metric with target and observed mean/median, percent errors and percentiles. Runs only after
    ``synthetic_dataset``'s blocking checks pass."""
    wh = warehouse.get()
    rows = 0
    for key in context.partition_keys:
        part = wh.partition_path("synthetic_datasets", "seed", key)
        if not part.exists():
            raise dg.Failure(f"seed {key}: no synthetic_datasets row; materialise synthetic_dataset first")
        info = pl.read_parquet(part).row(0, named=True)
        quality = json.loads((Path(info["path"]) / "quality.json").read_text())
        frame = _quality_frame(quality).with_columns(dataset_id=pl.lit(info["dataset_id"]),
                                                     run_id=pl.lit(context.run.run_id))
        f = wh.write_partition("dataset_quality", "seed", key, frame)
        record_lineage(context, wh, {"dataset": info["dataset_sha256"]}, [f], frame.height, partition_key=key)
        rows += frame.height
    return dg.MaterializeResult(metadata={"dagster/row_count": rows, "seeds": list(context.partition_keys)})


def _quality_frame(quality: dict) -> pl.DataFrame:
    recs = []
    for metric, row in quality["observed_vs_target"].items():
        o = row["observed"]
        recs.append({
            "metric": metric, "target_mean": row["target_mean"], "observed_mean": o.get("mean"),
            "pct_error_mean": row["pct_error_mean"], "target_median": row["target_median"],
            "observed_median": o.get("median"), "pct_error_median": row["pct_error_median"],
            "count": o.get("count", 0), "std": o.get("std"), "p05": o.get("p05"), "p95": o.get("p95"),
            "p99": o.get("p99"),
        })
    return pl.DataFrame(recs, schema_overrides={k: pl.Float64 for k in (
        "target_mean", "observed_mean", "pct_error_mean", "target_median", "observed_median", "pct_error_median",
        "std", "p05", "p95", "p99")})
