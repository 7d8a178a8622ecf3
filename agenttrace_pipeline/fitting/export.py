"""Every generator profile from the fits: which sources get one, the pooled set, its arrivals, the round trip.

This is what the ``generator_profiles`` asset runs; it writes nothing itself. A source gets a profile when
each quantity a profile needs has a chosen fit; one with few sessions (or fitted from a bundled sample) gets a
low-confidence profile that says so, rather than none, so a machine with only the samples still has a
usable profile. The pooled profile leaves out sources that fell back to their sample, unless every source did.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import polars as pl

from agenttrace_pipeline import settings
from agenttrace_pipeline.fitting import schemas
from agenttrace_pipeline.fitting.profile import Chosen, build_profile, required
from agenttrace_pipeline.fitting.quantities import POOLED, SourceData, source_data
from agenttrace_pipeline.fitting.roundtrip import ROUNDTRIP_SESSIONS, roundtrip
from agenttrace_pipeline.fitting.run import Pooled, pooled_members


@dataclass
class ProfileExport:
    """Profiles by name, the ``generator_profiles`` and ``profile_roundtrip`` frames (declared schemas,
    without ``run_id``), and why a source got no profile."""

    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)
    table: pl.DataFrame = field(default_factory=lambda: schemas.frame([], schemas.GENERATOR_PROFILES))
    roundtrip: pl.DataFrame = field(default_factory=lambda: schemas.frame([], schemas.PROFILE_ROUNDTRIP))
    skipped: list[str] = field(default_factory=list)

    def failing(self) -> list[str]:
        """``profile/quantity: reason`` of every round-trip row that fails."""
        return [f"{r['profile']}/{r['quantity']}: {r['reason']}" for r in self.roundtrip.filter(~pl.col("passes")).iter_rows(named=True)]


def content_fingerprint(frame: pl.DataFrame) -> str:
    """sha256 of a frame's rows (values only: not the run that wrote them, not a row count), so the same
    data give the same fingerprint in every run (row hashes are stable within one polars version)."""
    from agenttrace_pipeline.store.lineage import frame_fingerprint

    return frame_fingerprint(frame.drop("run_id", strict=False))


def source_fingerprints(turns: pl.DataFrame) -> dict[str, str]:
    """Content fingerprint of each source's canonical turns."""
    return {s: content_fingerprint(turns.filter(pl.col("source") == s).sort("trace_id", "turn_index"))
            for s in sorted(turns["source"].unique().to_list())}


def pooled_arrival(chosen: pl.DataFrame, arrival_files: Collection[str], excluded: Collection[str] = ()) -> dict | None:
    """Arrivals for the pooled profile: the Azure code trace (a coding workload), Poisson at its rate when
    the exponential fits, else its inter-arrival times resampled; ``excluded``: sources not to take it from."""
    rows = chosen.filter(pl.col("quantity").str.starts_with("inter_arrival_ms:") & pl.col("quantity").str.contains("code")
                         & ~pl.col("source").is_in(list(excluded))).sort("source", "quantity")
    if not rows.height:
        return None
    r = rows.row(0, named=True)
    if r["family"] == "exponential":
        return {"process": "poisson", "rate_per_s": round(1000.0 / orjson.loads(r["params"])["scale"], 4)}
    stem = r["quantity"].split(":", 1)[1]
    files = sorted(f for f in arrival_files if Path(f).stem == stem)
    return {"process": "trace", "trace": settings.portable(files[0])} if files else None


def _profile_row(name: str, path: Path, data: SourceData, profile: dict[str, Any], fp: Mapping[str, str]) -> dict[str, Any]:
    fit = profile["fit"]
    return {"profile": name, "source": data.source, "path": str(path), "config": orjson.dumps(profile).decode(),
            "fit_ids": orjson.dumps(fit["fit_ids"]).decode(), "source_fingerprints": orjson.dumps(dict(fp)).decode(),
            "sources": orjson.dumps(data.members).decode(), "confidence": fit["confidence"],
            "low_confidence_reasons": orjson.dumps(fit["low_confidence_reasons"]).decode(),
            "from_samples": fit["from_samples"], "max_prompt_tokens": profile["max_prompt_tokens"],
            "context_window_basis": data.context.basis, "delay_components": data.delay.components}


def _train_profile(data: SourceData, rows: Mapping[str, Mapping[str, Any]], arrival: dict | None) -> dict | None:
    """The profile refitted on the training traces (None when some quantity has no training refit)."""
    try:
        chosen = {q: Chosen.from_row(rows[q], train=True) for q in required(data)}
    except ValueError:
        return None
    return build_profile(data.part(True), chosen, {}, arrival=arrival)


def export_profiles(turns: pl.DataFrame, fits: pl.DataFrame, out_dir: Path, *, samples: Collection[str] = (),
                    arrival_files: Collection[str] = (), context_windows: Mapping[str, int | None] | None = None,
                    sessions: int = ROUNDTRIP_SESSIONS) -> ProfileExport:
    """Profiles ``fitted_<source>`` (and ``fitted_pooled_coding_agents``) from canonical ``turns`` and the
    ``distribution_fits`` table; ``samples``: sources that fell back to their bundled sample;
    ``arrival_files``: files of the arrivals table; ``out_dir``: where the caller writes them (for the
    ``path`` column)."""
    out = ProfileExport()
    chosen_rows = fits.filter("chosen")
    fingerprints = source_fingerprints(turns)
    sources = sorted(turns["source"].unique().to_list())
    pooled = pooled_members(sources, samples)
    groups: list[tuple[str, list[str], Pooled | None]] = [(s, [s], None) for s in sources]
    groups += [(POOLED, pooled.members, pooled)] if pooled is not None else []
    profile_rows, rt_rows = [], []
    for src, members, pool in groups:
        rows = {r["quantity"]: r for r in chosen_rows.filter(pl.col("source") == src).iter_rows(named=True)}
        data = source_data(src, turns.filter(pl.col("source").is_in(members)), context_windows)
        missing = [q for q in required(data) if q not in rows]
        if missing:
            out.skipped.append(f"{src}: no profile (no fits for {missing})")
            continue
        from_samples = pool.samples_only if pool is not None else src in samples
        arrival = pooled_arrival(chosen_rows, arrival_files, () if from_samples else samples) if pool else None
        fp = {m: fingerprints[m] for m in members}
        profile = build_profile(data, {q: Chosen.from_row(rows[q]) for q in required(data)}, fp,
                                arrival=arrival, from_samples=from_samples, pooled=None if pool is None else
                                {"members": pool.members, "samples_only": pool.samples_only, "note": pool.note})
        name = f"fitted_{src}"
        out.profiles[name] = profile
        profile_rows.append(_profile_row(name, out_dir / f"{name}.json", data, profile, fp))
        rt_rows += [{"profile": name, **r} for r in roundtrip(profile, data, _train_profile(data, rows, arrival), sessions)]
    out.table = schemas.frame(profile_rows, schemas.GENERATOR_PROFILES)
    out.roundtrip = schemas.frame(rt_rows, schemas.PROFILE_ROUNDTRIP)
    return out
