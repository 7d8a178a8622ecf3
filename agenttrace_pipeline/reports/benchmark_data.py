"""The benchmark report's data: DuckDB views joining every stage through their ids, read into polars frames.

The views (``warehouse/queries/benchmark_views.sql``) are made on a reader's in-memory connection over the
lake, so building the report never blocks (or waits for) a writer. No Dagster here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import polars as pl

from agenttrace_pipeline import settings
from agenttrace_pipeline.store.tables import TABLES
from agenttrace_pipeline.store.warehouse import Warehouse

VIEWS_FILE = "benchmark_views.sql"
COMPARISONS = "replay_comparisons"  # declared by the real-vs-simulated calibration work; shown when present
CHECKS = "check_results"  # Dagster's check verdicts per seed, when the warehouse keeps them

# what each report section reads (views from VIEWS_FILE, or tables); ORDER BY makes the page deterministic
SECTIONS: dict[str, str] = {
    "fits": "SELECT * FROM bm_chosen_fits ORDER BY source, quantity",
    "roundtrip": "SELECT profile, quantity, n_data, ks_profile, target, ks_heldout, heldout_target, passes, reason "
                 "FROM profile_roundtrip ORDER BY profile, quantity",
    "quality": "SELECT seed, dataset_id, metric, target_mean, observed_mean, pct_error_mean, pct_error_median "
               "FROM dataset_quality WHERE target_mean IS NOT NULL ORDER BY seed, metric",
    "curves": "SELECT seed, dataset_id, policy, capacity_blocks, hit_rate, ttft_p99_ms FROM cache_simulation "
              "WHERE tier = 'all' AND layer = 'all' ORDER BY seed, policy, capacity_blocks NULLS LAST",
    "reference_curves": "SELECT trace, capacity_blocks, hit_rate FROM reference_cache_stats "
                        "ORDER BY trace, capacity_blocks NULLS LAST",
    "hit_rates": "SELECT * FROM bm_hit_rates ORDER BY seed, replay_id",
    "latency": "SELECT * FROM bm_latency ORDER BY seed, endpoint_name, replay_id",
    "dataset_sources": "SELECT * FROM bm_dataset_sources ORDER BY seed, source, file",
    "seed_lineage": "SELECT * FROM bm_seed_lineage ORDER BY seed, asset_key",
}


@dataclass
class BenchmarkData:
    """Every section of the report as a frame; ``comparisons`` / ``checks`` are None when the warehouse has no
    such table; ``fingerprints``: the latest output fingerprint of every materialisation the report read."""

    frames: dict[str, pl.DataFrame]
    comparisons: pl.DataFrame | None
    checks: pl.DataFrame | None
    fingerprints: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, name: str) -> pl.DataFrame:
        return self.frames[name]


def view_statements() -> list[str]:
    """The ``CREATE VIEW`` statements of :data:`VIEWS_FILE`, comments dropped."""
    text = (settings.sql_dir() / "queries" / VIEWS_FILE).read_text()
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
    return [s.strip() for s in body.split(";\n") if s.strip()]


def create_views(conn: duckdb.DuckDBPyConnection) -> None:
    """Make the report's temporary views on a connection that already has the warehouse's table views."""
    for stmt in view_statements():
        conn.execute(stmt.rstrip(";"))


def _optional(conn: duckdb.DuckDBPyConnection, table: str) -> pl.DataFrame | None:
    """A table another part of the pipeline may declare; None when it is not declared or has no rows."""
    if table not in TABLES:
        return None
    df = conn.sql(f"SELECT * FROM {table}").pl()
    return df if df.height else None


def load(wh: Warehouse) -> BenchmarkData:
    """Read every section of the report from ``wh`` (one connection, one snapshot of the lake's files)."""
    with wh.connect() as conn:
        create_views(conn)
        frames = {name: conn.sql(sql).pl() for name, sql in SECTIONS.items()}
        prints = conn.sql("SELECT asset_key || coalesce('[' || partition_key || ']', '') AS k, output_fingerprint "
                          "FROM bm_latest_lineage WHERE asset_key <> 'benchmark_report' ORDER BY k").fetchall()
        return BenchmarkData(frames, _optional(conn, COMPARISONS), _optional(conn, CHECKS), dict(prints))
