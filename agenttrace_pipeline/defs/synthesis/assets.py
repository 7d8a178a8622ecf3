"""Synthetic agentic-code datasets per seed partition, their checks, and their quality table."""

import json
from pathlib import Path

import dagster as dg
import polars as pl
from pydantic import Field

from agenttrace_pipeline import settings
from agenttrace_pipeline.defs.partitions import seeds
from agenttrace_pipeline.lib.warehouse import WarehouseResource, record_lineage
from agenttrace_pipeline.seeds import validate_seed
from agenttrace_pipeline.store.atomic import sha256_file
from agenttrace_pipeline.store.warehouse import Warehouse
from agenttrace_pipeline.synth.checks import CHECKS, dataset_checks, quality_frame, quality_markdown
from agenttrace_pipeline.synth.config import ConfigError, load_config
from agenttrace_pipeline.synth.engine import GenerationError
from agenttrace_pipeline.synth.generate import SynthesisResult, synthesize
from agenttrace_pipeline.synth.rundir import SynthesisError


class SyntheticDatasetConfig(dg.Config):
    profile: str = Field(default="default", description="Bundled config name, config JSON path or a manifest.json.")
    num_sessions: int = Field(default=1000, ge=1, description="Primary sessions per seed partition.")


def _seed(key: str) -> int:
    try:
        return int(validate_seed(key))
    except ValueError as exc:
        raise dg.Failure(f"{exc}; remove it with `agenttrace seeds remove {key}`") from None


@dg.asset(
    partitions_def=seeds,
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=["generator_profiles"],  # a fitted profile feeds synthesis (the run config picks which)
    automation_condition=dg.AutomationCondition.eager(),  # a new profile regenerates every seed
    kinds={"duckdb", "parquet"},
    check_specs=[dg.AssetCheckSpec(name, asset="synthetic_dataset", blocking=True, description=desc)
                 for name, desc in CHECKS.items()],
)
def synthetic_dataset(context: dg.AssetExecutionContext, config: SyntheticDatasetConfig, warehouse: WarehouseResource):
    """Multi-turn agentic-code Mooncake dataset (seed 000 semantics) for each seed partition: dataset.jsonl,
    manifest.json and quality.json under ``outputs/synthetic/<profile>_<N>s_seed<seed>/``, plus the warehouse
    tables ``synthetic_turns``, ``synthetic_sessions`` and ``synthetic_datasets`` (rows carry dataset_id and
    run_id). Checks run before the warehouse is written; a seed that fails a check is not written."""
    try:
        name, cfg = load_config(config.profile)
    except ConfigError as exc:
        raise dg.Failure(str(exc)) from None
    wh = warehouse.get()
    root = settings.output_root() / "synthetic"
    verdicts: dict[str, dict[str, tuple[bool, str]]] = {}
    summary, total_rows = [], 0
    last = None
    for key in context.partition_keys:
        seed = _seed(key)
        context.log.info(f"seed {seed}: generating {config.num_sessions:,} sessions with profile {name!r}")
        try:
            res = synthesize(cfg, num_sessions=config.num_sessions, seed=seed, output_root=root, config_name=name,
                             run_name=f"{name}_{config.num_sessions}s_seed{seed}", validate=False, collect_sessions=True)
        except (ValueError, SynthesisError, GenerationError) as exc:  # ConfigError is a ValueError
            raise dg.Failure(f"seed {seed}: {exc}") from None
        checks, table = dataset_checks(res, cfg.max_prompt_tokens)
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
        meta["quality"] = dg.MetadataValue.md(quality_markdown(last.quality))
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
    deps=[synthetic_dataset],
    automation_condition=dg.AutomationCondition.eager(),
    kinds={"duckdb", "parquet"},
)
def dataset_quality(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Target-vs-observed statistics of each seed's dataset as a warehouse table (``dataset_quality``): one
    row per metric with target and observed mean/median, percent errors and percentiles. Runs only after
    ``synthetic_dataset``'s blocking checks pass."""
    wh = warehouse.get()
    rows = 0
    for key in context.partition_keys:
        part = wh.read_partition("synthetic_datasets", key)
        if part is None:
            raise dg.Failure(f"seed {key}: no synthetic_datasets row; materialise synthetic_dataset first")
        info = part.row(0, named=True)
        quality = json.loads((Path(info["path"]) / "quality.json").read_text())
        frame = quality_frame(quality).with_columns(dataset_id=pl.lit(info["dataset_id"]),
                                                     run_id=pl.lit(context.run.run_id))
        f = wh.write_partition("dataset_quality", "seed", key, frame)
        record_lineage(context, wh, {"dataset": info["dataset_sha256"]}, [f], frame.height, partition_key=key)
        rows += frame.height
    return dg.MaterializeResult(metadata={"dagster/row_count": rows, "seeds": list(context.partition_keys)})

