"""Running the Dagster code location from the CLI: project-local instance, main job, UI."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from agenttrace_pipeline import settings

DAGSTER_YAML = """\
# Written by agenttrace: a project-local Dagster instance.
telemetry:
  enabled: false
"""


def ensure_dagster_home() -> Path:
    """Create the project-local DAGSTER_HOME (telemetry off) if needed and export it."""
    home = settings.dagster_home()
    home.mkdir(parents=True, exist_ok=True)
    cfg = home / "dagster.yaml"
    if not cfg.exists():
        cfg.write_text(DAGSTER_YAML)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


@dataclass
class MainJobResult:
    run_id: str
    success: bool
    materialized: dict[str, dict[str, object]]
    checks: dict[str, bool]


def run_main_job(seed: str | None = None, log_level: str = "INFO") -> MainJobResult:
    """Materialise every asset (partitioned ones for ``seed``) in the project-local instance."""
    ensure_dagster_home()
    import dagster as dg

    from agenttrace_pipeline.definitions import defs

    definitions = defs()
    instance = dg.DagsterInstance.get()
    job = definitions.resolve_job_def("materialize_all")
    kwargs = {}
    if job.partitions_def is not None and seed is not None:
        pdef = job.partitions_def
        if isinstance(pdef, dg.DynamicPartitionsDefinition) and not instance.has_dynamic_partition(pdef.name, seed):
            instance.add_dynamic_partitions(pdef.name, [seed])
        kwargs["partition_key"] = seed
    run_config = {"loggers": {"console": {"config": {"log_level": log_level}}}}
    result = job.execute_in_process(run_config=run_config, instance=instance, raise_on_error=False, **kwargs)
    return _summarise(result)


def _summarise(result) -> MainJobResult:
    materialized = {}
    for ev in result.get_asset_materialization_events():
        mat = ev.event_specific_data.materialization
        materialized[mat.asset_key.to_user_string()] = {k: v.value for k, v in mat.metadata.items()}
    checks = {
        f"{ev.asset_check_evaluation_data.asset_key.to_user_string()}:{ev.asset_check_evaluation_data.check_name}":
            ev.asset_check_evaluation_data.passed
        for ev in result.all_events
        if ev.event_type_value == "ASSET_CHECK_EVALUATION"
    }
    return MainJobResult(result.run_id, result.success, materialized, checks)


def parse_seeds(specs: list[str]) -> list[str]:
    """``["7", "10-12"]`` → ``["7", "10", "11", "12"]``; raises ValueError naming a bad item."""
    keys: list[str] = []
    for spec in specs:
        for part in spec.split(","):
            part = part.strip()
            lo, sep, hi = part.partition("-")
            if not lo.isdigit() or (sep and not hi.isdigit()):
                raise ValueError(f"bad seed {part!r}: use non-negative integers or ranges like 10-12")
            keys += [str(i) for i in range(int(lo), int(hi or lo) + 1)]
    return list(dict.fromkeys(keys))


def add_seeds(keys: list[str]) -> list[str]:
    """Add seed partitions to the project-local instance; returns the ones that were new."""
    ensure_dagster_home()
    import dagster as dg

    from agenttrace_pipeline.defs.partitions import seeds

    instance = dg.DagsterInstance.get()
    new = [k for k in keys if not instance.has_dynamic_partition(seeds.name, k)]
    if new:
        instance.add_dynamic_partitions(seeds.name, new)
    return new


def list_seeds() -> list[str]:
    ensure_dagster_home()
    import dagster as dg

    from agenttrace_pipeline.defs.partitions import seeds

    return list(dg.DagsterInstance.get().get_dynamic_partitions(seeds.name))


def backfill(keys: list[str], num_sessions: int | None = None, log_level: str = "INFO") -> MainJobResult:
    """Regenerate ``keys`` (added if missing) in one run, as a partition range (BackfillPolicy.single_run)."""
    add_seeds(keys)
    import dagster as dg

    from agenttrace_pipeline.definitions import defs

    existing = list_seeds()
    idx = sorted(existing.index(k) for k in keys)
    if idx != list(range(idx[0], idx[-1] + 1)):
        raise ValueError(f"seeds {keys} are not a contiguous range of the partitions {existing}; back them "
                         "fill separately or from the UI")
    job = defs().resolve_job_def("regenerate_synthetic_datasets")
    run_config: dict = {"loggers": {"console": {"config": {"log_level": log_level}}}}
    if num_sessions is not None:
        run_config["ops"] = {"synthetic_dataset": {"config": {"num_sessions": num_sessions}}}
    tags = {"dagster/asset_partition_range_start": existing[idx[0]], "dagster/asset_partition_range_end": existing[idx[-1]]}
    result = job.execute_in_process(run_config=run_config, instance=dg.DagsterInstance.get(), tags=tags,
                                    raise_on_error=False)
    return _summarise(result)


def serve_ui(host: str = "127.0.0.1", port: int = 3000) -> int:
    """Run ``dagster dev`` on the project's workspace with the project-local instance."""
    ensure_dagster_home()
    cmd = [sys.executable, "-m", "dagster", "dev", "-w", str(settings.PROJECT_ROOT / "workspace.yaml"),
           "-h", host, "-p", str(port)]
    return subprocess.call(cmd, cwd=settings.PROJECT_ROOT)
