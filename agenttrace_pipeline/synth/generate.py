"""Generate an agentic-code Mooncake dataset: run directory with dataset.jsonl, manifest.json, quality.json.

``synthesize`` checks its arguments, the config's arrival trace and the expected output size before it
writes anything; then it streams :func:`simulate.simulate` batches through a :class:`writer.DatasetWriter`
into a partial run directory, writes the quality report and manifest, validates the dataset, and only
then publishes the directory under its final name. Any failure removes the partial directory. Memory does
not grow with the session count; same seed + config + count ⇒ byte-identical dataset.jsonl, whatever the
batch size.
"""

from __future__ import annotations

import errno
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from agenttrace_pipeline import __version__
from agenttrace_pipeline.store.atomic import atomic_writer
from agenttrace_pipeline.synth.config import SessionDistributionConfig
from agenttrace_pipeline.synth.draws import DrawLog
from agenttrace_pipeline.synth.engine import END_REASONS, Samplers
from agenttrace_pipeline.synth.preflight import arrival_gaps, check_arguments, check_space, estimate_bytes
from agenttrace_pipeline.synth.quality import Observed
from agenttrace_pipeline.synth.report import derived_params, quality_report
from agenttrace_pipeline.synth.rundir import RunDirectory, SynthesisError, safe_name
from agenttrace_pipeline.synth.simulate import BATCH, simulate, stream
from agenttrace_pipeline.synth.writer import SESSION_FIELDS, DatasetWriter, OutputLimitExceeded
from agenttrace_pipeline.trace.validator import ValidationReport, validate_file

_ARRIVALS, _QUALITY, _DRAWS = (1,), (2,), (3,)  # random streams besides the simulation's (0, block)


@dataclass
class SynthesisResult:
    run_dir: Path
    dataset: Path
    manifest: dict[str, Any]
    quality: dict[str, Any]
    validation: ValidationReport | None
    seconds: float
    sessions: list[tuple] = field(default_factory=list)  # with collect_sessions: see SESSION_FIELDS

    def sessions_frame(self):
        """Per-session summaries as a polars frame (only with ``collect_sessions=True``)."""
        import polars as pl

        return pl.DataFrame(self.sessions, schema={k: getattr(pl, v) for k, v in SESSION_FIELDS.items()}, orient="row")

    @property
    def rows(self) -> int:
        return int(self.manifest["rows"])


class InvalidDataset(RuntimeError):
    def __init__(self, path: Path, report: ValidationReport) -> None:
        self.path, self.report = path, report
        shown = "\n  ".join(f"{path.name}:{v.line}: {v.field}: {v.reason}" for v in report.violations[:20])
        super().__init__(f"generated dataset failed validation ({report.violation_count} violations; the run "
                         f"directory was removed):\n  {shown}")


@dataclass
class _Run:
    """Everything one run accumulates while it writes."""

    cfg: SessionDistributionConfig
    samplers: Samplers
    draws: DrawLog
    observed: Observed
    writer: DatasetWriter | None = None
    sha256: str = ""


def _write_dataset(run: _Run, path: Path, num_sessions: int, seed: int, batch_size: int, gaps, collect: bool,
                   max_bytes: int | None, progress: Callable[[int], None] | None) -> None:
    cfg = run.cfg
    with atomic_writer(path) as sink:
        arrivals = stream(seed, _ARRIVALS) if cfg.arrival.process != "none" else None

        def recorded_gaps(rng, n):
            values = gaps(rng, n)
            run.draws.record("arrival_gap_ms", values)
            return values

        w = run.writer = DatasetWriter(cfg, seed, sink, recorded_gaps, arrivals, collect, max_bytes)
        for batch in simulate(cfg, num_sessions, seed=seed, batch_size=batch_size, samplers=run.samplers):
            run.observed.add(batch.primaries, cfg.max_prompt_tokens, primaries=True)
            run.observed.add(batch.continuations, cfg.max_prompt_tokens, primaries=False)
            w.write(batch)
            run.draws.fold()
            if progress is not None:
                progress(batch.first + batch.n)
        w.close()
        run.sha256 = sink.sha256


def _manifest(run: _Run, config_name: str, seed: int, num_sessions: int, started: datetime,
              cli_args: list[str] | None) -> dict[str, Any]:
    w = run.writer
    assert w is not None
    return {
        "tool": "agenttrace_pipeline",
        "tool_version": __version__,
        "generator": "agentic-code",
        "config_name": config_name,
        "config_sha256": run.cfg.digest(),
        "seed": seed,
        "num_sessions": num_sessions,
        "sessions_requested": num_sessions,
        "sessions_emitted": w.sessions,
        "restart_continuations": w.restarts,
        "rows": w.rows,
        "dataset_file": "dataset.jsonl",
        "dataset_sha256": run.sha256,
        "dataset_bytes": w.bytes,
        "block_size": run.cfg.block_size,
        "created_utc": started.isoformat(timespec="seconds"),
        "cli_args": cli_args if cli_args is not None else [],
        "generation_params": run.cfg.to_json_dict(),
        "derived": derived_params(run.cfg, run.samplers),
    }


def _finish(work: Path, manifest: dict, quality: dict, block_size: int | None, final: Path) -> ValidationReport | None:
    """Write manifest.json and quality.json, then validate the dataset (``block_size`` None: skip)."""
    for name, obj in (("manifest.json", manifest), ("quality.json", quality)):
        with atomic_writer(work / name) as fh:
            fh.write(orjson.dumps(obj, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY) + b"\n")
    if block_size is None:
        return None
    # Validated in this process, before publishing: a validator child fed through a pipe was measured
    # slower here (the two cores slow each other down on this allocation-heavy work).
    report = validate_file(work / "dataset.jsonl", block_size, max_errors=50)
    if not report.valid:
        raise InvalidDataset(final / "dataset.jsonl", report)
    return report


def _os_error(exc: OSError, where: Path) -> SynthesisError:
    if exc.errno == errno.ENOSPC:
        return SynthesisError(f"disk full while writing {where}; nothing was kept")
    return SynthesisError(f"cannot write {where}: {exc.strerror or exc}")


def synthesize(
    cfg: SessionDistributionConfig,
    *,
    num_sessions: int,
    seed: int,
    output_root: str | Path,
    config_name: str = "default",
    run_name: str | None = None,
    cli_args: list[str] | None = None,
    progress: Callable[[int], None] | None = None,
    validate: bool = True,
    batch_size: int = BATCH,
    collect_sessions: bool = False,
    max_bytes: int | None = None,
    check_free_space: bool = True,
) -> SynthesisResult:
    """Generate ``num_sessions`` primary sessions (plus their restart continuations) into a run directory.

    The directory is ``<config>_<N>s_seed<seed>_<UTC YYYYMMDD-HHMMSS>`` under ``output_root`` unless
    ``run_name`` (a plain name: letters, digits, ``.``, ``_``, ``-``) is given; ``config_name`` is reduced to
    such a name. It replaces an earlier run directory of the same name only if that one was written by this
    generator. Before writing, the run is refused when its estimated size exceeds ``max_bytes`` or, without
    one and with ``check_free_space``, the free disk space. Raises ``ValueError`` for bad arguments,
    :class:`ConfigError` for an unreadable arrival trace, :class:`SynthesisError` for the output folder or
    size, :class:`GenerationError` when the config cannot produce a session, and :class:`InvalidDataset`
    (``validate=True``) when the dataset breaks the trace contract; after any failure nothing is left behind.
    """
    check_arguments(num_sessions, seed)
    t0, started = time.perf_counter(), datetime.now(UTC)
    config_name = safe_name(config_name)
    run_name = run_name or f"{config_name}_{num_sessions}s_seed{seed}_{started:%Y%m%d-%H%M%S}"
    rd = RunDirectory(output_root, run_name)
    gaps = arrival_gaps(cfg)
    pilot = Samplers.for_config(cfg)  # calibrates new tokens once; the pilot draws are not recorded
    draws = DrawLog(stream(seed, _DRAWS))
    run = _Run(cfg, Samplers.of(cfg, pilot.calibrated, draws), draws, Observed(stream(seed, _QUALITY), len(END_REASONS)))
    work = rd.open()  # the output folder is checked (a file? writable?) before the size is estimated
    try:
        if max_bytes is not None or (check_free_space and num_sessions > 1000):
            check_space(rd.root, estimate_bytes(cfg, pilot, num_sessions), max_bytes, check_free_space)
        _write_dataset(run, work / "dataset.jsonl", num_sessions, seed, batch_size, gaps, collect_sessions,
                       max_bytes, progress)
        quality = quality_report(run.cfg, run.samplers, run.observed, run.draws, run.writer, gaps.law())
        manifest = _manifest(run, config_name, seed, num_sessions, started, cli_args)
        report = _finish(work, manifest, quality, cfg.block_size if validate else None, rd.final)
        final = rd.publish()
    except OutputLimitExceeded as exc:
        rd.discard()
        raise SynthesisError(f"{exc}; stopped and nothing was kept (raise --max-bytes or generate fewer sessions)") from None
    except OSError as exc:
        rd.discard()
        raise _os_error(exc, work) from None
    except BaseException:
        rd.discard()
        raise
    return SynthesisResult(final, final / "dataset.jsonl", manifest, quality, report, time.perf_counter() - t0,
                           run.writer.summaries if run.writer is not None else [])
