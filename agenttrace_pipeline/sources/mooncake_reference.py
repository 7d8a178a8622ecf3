"""Reference Mooncake traces (FAST'25 and others): resolve, validate, tabulate, and measure cache reuse."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pandera.errors
import polars as pl

from agenttrace_pipeline import settings
from agenttrace_pipeline.cachesim.prefix_hits import HitStats, prefix_hit_stats, prompts_of
from agenttrace_pipeline.sources.download import FetchPolicy, is_url, resolve_location
from agenttrace_pipeline.store.atomic import sha256_file
from agenttrace_pipeline.trace.schema import read_trace_table, trace_table_schema
from agenttrace_pipeline.trace.validator import ValidationReport, validate_file


class TraceRejected(Exception):
    """A reference trace failed validation; nothing of it may reach the warehouse."""

    def __init__(self, name: str, path: Path, problems: list[str]) -> None:
        self.name, self.path, self.problems = name, path, problems
        shown = "\n  ".join(problems[:20])
        more = f"\n  … and {len(problems) - 20} more" if len(problems) > 20 else ""
        super().__init__(f"reference trace {name!r} ({path}) is invalid:\n  {shown}{more}")


@dataclass(frozen=True)
class ReferenceSpec:
    name: str
    location: str
    sha256: str | None = None
    license: str = ""
    optional: bool = False


@dataclass(frozen=True)
class ReferenceConfig:
    block_size: int = 512
    lru_capacities: tuple[int, ...] = ()
    traces: tuple[ReferenceSpec, ...] = ()
    fallback: ReferenceSpec | None = None
    source_path: Path | None = None


@dataclass
class IngestedTrace:
    spec: ReferenceSpec
    path: Path
    sha256: str
    table: pl.DataFrame
    report: ValidationReport
    hit_stats: list[HitStats] = field(default_factory=list)

    @property
    def infinite_hit_rate(self) -> float:
        return next(s.hit_rate for s in self.hit_stats if s.capacity_blocks is None)

    def stats_frame(self) -> pl.DataFrame:
        return pl.DataFrame(
            [s.to_dict() for s in self.hit_stats],
            schema={"capacity_blocks": pl.Int64, "requests": pl.Int64, "input_tokens": pl.Int64,
                    "hit_tokens": pl.Int64, "distinct_blocks": pl.Int64, "hit_rate": pl.Float64},
        )


def _spec(d: dict[str, Any], where: str) -> ReferenceSpec:
    try:
        return ReferenceSpec(name=str(d["name"]), location=str(d["location"]), sha256=d.get("sha256"),
                             license=str(d.get("license", "")), optional=bool(d.get("optional", False)))
    except KeyError as exc:
        raise ValueError(f"{where}: trace entry is missing {exc.args[0]!r}") from None


def load_reference_config(path: str | Path) -> ReferenceConfig:
    """Read ``assets_config/reference_traces.json`` (see its ``$comment``)."""
    path = Path(path)
    try:
        data = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise ValueError(f"{path}: cannot read reference trace config ({exc})") from None
    traces = tuple(_spec(d, str(path)) for d in data.get("traces", []))
    names = [t.name for t in traces]
    if len(set(names)) != len(names):
        raise ValueError(f"{path}: trace names must be unique, got {names}")
    fb = data.get("fallback")
    return ReferenceConfig(
        block_size=int(data.get("block_size", 512)),
        lru_capacities=tuple(int(c) for c in data.get("lru_capacities", [])),
        traces=traces,
        fallback=_spec(fb, str(path)) if fb else None,
        source_path=path,
    )


def available_specs(cfg: ReferenceConfig) -> tuple[list[ReferenceSpec], list[ReferenceSpec]]:
    """Split the configured traces into (to ingest, skipped because an optional local file is absent).

    When every configured trace is skipped, the fallback (the bundled sample) is ingested instead.
    """
    use, skipped = [], []
    for spec in cfg.traces:
        loc = settings.expand(spec.location)
        if spec.optional and not is_url(loc) and not Path(loc).exists():
            skipped.append(spec)
        else:
            use.append(spec)
    if not use and cfg.fallback is not None:
        use.append(cfg.fallback)
    return use, skipped


def ingest_reference_trace(
    spec: ReferenceSpec,
    block_size: int = 512,
    lru_capacities: tuple[int, ...] = (),
    policy: FetchPolicy | None = None,
) -> IngestedTrace:
    """Fetch (if a URL), validate (our validator, then the pandera schema), tabulate and measure one trace.

    Raises :class:`TraceRejected` listing every violation (file, line, field, reason) when invalid.
    """
    path = resolve_location(settings.expand(spec.location), sha256=spec.sha256, policy=policy)
    report = validate_file(path, block_size=block_size, max_errors=200)
    if not report.valid:
        raise TraceRejected(spec.name, path, [
            f"{path}:{v.line}: {v.field + ': ' if v.field else ''}{v.reason}" for v in report.violations])
    table = read_trace_table(path)
    try:
        trace_table_schema(block_size).validate(table, lazy=True)
    except pandera.errors.SchemaErrors as exc:
        raise TraceRejected(spec.name, path, [str(exc)]) from None
    prompts = list(prompts_of(table.select("session_id", "hash_ids", "input_length").iter_rows(named=True)))
    stats = [prefix_hit_stats(prompts, block_size, None)]
    stats += [prefix_hit_stats(prompts, block_size, cap) for cap in lru_capacities]
    return IngestedTrace(spec, path, sha256_file(path), table, report, stats)
