"""Running the Dagster code location from the CLI: project-local instance, main job, UI."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from agenttrace_pipeline import settings
from agenttrace_pipeline.seeds import validate_seed

DAGSTER_YAML = """\
# Written by agenttrace: a project-local Dagster instance.
telemetry:
  enabled: false
"""


def ensure_dagster_home() -> Path:
    """Create the project-local DAGSTER_HOME (telemetry off) if needed and export it."""
    home = settings.dagster_home()
    home.mkdir(parents=True, exist_ok=True)
    os.environ["DAGSTER_HOME"] = str(home)
    if (home / "history").is_dir():
        return home
    # Two commands started at once on a fresh home would both create the instance's SQLite storage and
    # race in its schema migration: the first creates it under a lock, the second waits.
    from filelock import FileLock

    with FileLock(home / ".agenttrace-init.lock", timeout=300):
        cfg = home / "dagster.yaml"
        if not cfg.exists():
            cfg.write_text(DAGSTER_YAML)
        if not (home / "history").is_dir():
            import dagster as dg

            dg.DagsterInstance.get().get_runs(limit=1)
    return home


@dataclass
class Problem:
    """A failed step, a failed check, or (severity ``warn``) a check that only warns."""

    kind: str  # "step" | "check"
    name: str
    reason: str
    where: str = ""  # FILE:LINE of the code that raised, for a failed step
    details: list[str] = field(default_factory=list)  # e.g. failing rows as FILE:LINE (source/trace/turn)
    severity: str = "error"


@dataclass
class MainJobResult:
    run_id: str
    success: bool
    materialized: dict[str, dict[str, object]]
    checks: dict[str, bool]
    problems: list[Problem] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def failures(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warn"]

    @property
    def ok(self) -> bool:
        return self.success and not self.failures


def run_main_job(seed: str | None = None, log_level: str = "CRITICAL", profile: str | None = None,
                 num_sessions: int | None = None) -> MainJobResult:
    """Materialise every asset (partitioned ones for ``seed``) in the project-local instance."""
    seed = validate_seed(seed) if seed is not None else None
    ensure_dagster_home()
    import dagster as dg

    from agenttrace_pipeline.definitions import defs

    definitions = defs()
    instance = dg.DagsterInstance.get()
    job = definitions.resolve_job_def("materialize_all")
    partition_key = None
    if job.partitions_def is not None and seed is not None:
        from agenttrace_pipeline.defs.partitions import SEEDS

        if not instance.has_dynamic_partition(SEEDS, seed):
            instance.add_dynamic_partitions(SEEDS, [seed])
        partition_key = seed
    run_config = _run_config(log_level, profile, num_sessions)
    result = job.execute_in_process(run_config=run_config, instance=instance, raise_on_error=False,
                                    partition_key=partition_key)
    return _summarise(result)


def _run_config(log_level: str, profile: str | None, num_sessions: int | None) -> dict:
    cfg: dict = {"loggers": {"console": {"config": {"log_level": log_level}}}}
    synth = {k: v for k, v in (("profile", profile), ("num_sessions", num_sessions)) if v is not None}
    if synth:
        cfg["ops"] = {"synthetic_dataset": {"config": synth}}
    return cfg


_FRAME = re.compile(r'File "([^"]+)", line (\d+)')


def _where(error) -> str:
    """FILE:LINE of the innermost frame in this project's code (else the innermost frame) of an error."""
    frames: list[tuple[str, str]] = []
    while error is not None:
        for line in error.stack or []:
            frames += _FRAME.findall(line)
        error = error.cause
    ours = [f for f in frames if "agenttrace_pipeline" in f[0] and "/site-packages/dagster" not in f[0]]
    if not (ours or frames):
        return ""
    raised = _short(*(ours or frames)[-1])
    asset = next((_short(*f) for f in reversed(ours) if "/defs/" in f[0]), raised)
    return raised if asset == raised else f"{raised}, called from {asset}"


def _short(path: str, line: str) -> str:
    try:
        path = str(Path(path).resolve().relative_to(settings.PROJECT_ROOT))
    except ValueError:
        pass
    return f"{path}:{line}"


def _innermost_message(error) -> str:
    msg = error.message.strip() if error is not None else "unknown error"
    while error is not None and error.cause is not None:
        error = error.cause
        msg = error.message.strip()
    # "package.module.SomeError: text" -> "SomeError: text"
    return re.sub(r"^(?:[A-Za-z_][\w]*\.)+(?=[A-Za-z_]\w*: )", "", msg)


def _check_problem(ev) -> Problem | None:
    data = ev.asset_check_evaluation_data
    if data.passed:
        return None
    name = f"{data.asset_key.to_user_string()}:{data.check_name}"
    details = []
    for key, value in (data.metadata or {}).items():
        v = value.value
        if isinstance(v, list | tuple):
            details += [f"{key}: {x}" for x in v[:20]]
        elif v not in (None, "", "none", "ok", 0):
            details.append(f"{key}: {str(v)[:600]}")
    severity = "warn" if str(getattr(data.severity, "value", data.severity)).upper() == "WARN" else "error"
    reason = data.description or "the check did not pass"
    return Problem("check", name, reason, details=details, severity=severity)


def _summarise(result) -> MainJobResult:
    materialized = {}
    for ev in result.get_asset_materialization_events():
        mat = ev.event_specific_data.materialization
        materialized[mat.asset_key.to_user_string()] = {k: v.value for k, v in mat.metadata.items()}
    checks, problems, skipped = {}, [], []
    for ev in result.all_events:
        if ev.event_type_value == "ASSET_CHECK_EVALUATION":
            data = ev.asset_check_evaluation_data
            checks[f"{data.asset_key.to_user_string()}:{data.check_name}"] = data.passed
            if (p := _check_problem(ev)) is not None:
                problems.append(p)
        elif ev.event_type_value == "STEP_FAILURE":
            err = ev.event_specific_data.error
            problems.append(Problem("step", ev.step_key, _innermost_message(err), _where(err)))
        elif ev.event_type_value == "STEP_SKIPPED":
            skipped.append(ev.step_key)
    return MainJobResult(result.run_id, result.success, materialized, checks, problems, skipped)


def add_seeds(keys: list[str]) -> list[str]:
    """Add seed partitions to the project-local instance; returns the ones that were new."""
    ensure_dagster_home()
    import dagster as dg

    from agenttrace_pipeline.defs.partitions import SEEDS

    instance = dg.DagsterInstance.get()
    new = [k for k in keys if not instance.has_dynamic_partition(SEEDS, k)]
    if new:
        instance.add_dynamic_partitions(SEEDS, new)
    return new


def remove_seeds(keys: list[str]) -> list[str]:
    """Remove seed partitions (any key, so a bad one added by an older version can go); returns those removed.
    Their warehouse rows and datasets stay until ``agenttrace gc``."""
    ensure_dagster_home()
    import dagster as dg

    from agenttrace_pipeline.defs.partitions import SEEDS

    instance = dg.DagsterInstance.get()
    gone = [k for k in keys if instance.has_dynamic_partition(SEEDS, k)]
    for k in gone:
        instance.delete_dynamic_partition(SEEDS, k)
    return gone


def list_seeds() -> list[str]:
    ensure_dagster_home()
    import dagster as dg

    from agenttrace_pipeline.defs.partitions import SEEDS

    return list(dg.DagsterInstance.get().get_dynamic_partitions(SEEDS))


def backfill(keys: list[str], num_sessions: int | None = None, log_level: str = "CRITICAL",
             profile: str | None = None) -> MainJobResult:
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
    run_config = _run_config(log_level, profile, num_sessions)
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
