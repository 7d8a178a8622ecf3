"""The warehouse, lake first: the Parquet lake is the truth, DuckDB is the lens.

Layout (``<lake>`` is a folder or an object-store URL, see :mod:`agenttrace_pipeline.store.lake`)::

    <lake>/<table>/<column>=<value>/data.parquet        one file per partition, replaced whole
    <lake>/lineage/<asset>/<partition>/<run_id>.parquet one record per materialisation
    <db>                                                DuckDB file of views over the lake (rebuildable)

Writers only write Parquet, so any number of steps, processes and machines write at once; they never open
DuckDB. A materialisation's files are staged under temporary names and moved into place together when its
lineage record is written (:meth:`Warehouse.record_lineage`): a step that fails before that leaves the lake
as it was. Readers open an in-memory DuckDB connection whose views are made at connection time from the
table declarations (:mod:`agenttrace_pipeline.store.tables`) against the lake named by the settings, so they
never wait for a writer and a copied warehouse reads its own lake.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from agenttrace_pipeline import settings
from agenttrace_pipeline.store.lake import Lake, Staged
from agenttrace_pipeline.store.lineage import LineageRecord, combined_fingerprint, frame_fingerprint
from agenttrace_pipeline.store.tables import LINEAGE_COLUMNS, TABLES, conform

__all__ = ["LineageRecord", "PartitionFile", "Warehouse", "combined_fingerprint", "frame_fingerprint"]

_SAFE = re.compile(r"^[A-Za-z0-9_.-]+$")
LAKE_VARIABLE = "agenttrace_lake"
LINEAGE_DIR = "lineage"
_HIVE_TYPES = {"seed": "BIGINT"}


@dataclass(frozen=True, slots=True)
class PartitionFile:
    table: str
    partition: str
    path: str
    rows: int
    sha256: str


def _safe(*parts: str) -> None:
    for part in parts:
        if not _SAFE.match(part) or part in (".", ".."):
            raise ValueError(f"unsafe warehouse name {part!r}: use letters, digits, '_', '-', '.'")


class Warehouse:
    """One warehouse. ``Warehouse()`` uses the settings; ``deferred=True`` holds partition writes until the
    materialisation's lineage record is written (what the Dagster resource does)."""

    def __init__(self, database: str | Path | None = None, lake: str | Path | None = None,
                 deferred: bool = False) -> None:
        self.database = Path(database).expanduser().resolve() if database else settings.warehouse_db()
        self.store = Lake(lake if lake else settings.lake_root(self.database))
        self.deferred = deferred
        self._pending: list[Staged] = []
        self._pending_drops: list[str] = []

    def __repr__(self) -> str:
        return f"Warehouse(database={str(self.database)!r}, lake={self.store.url!r})"

    @property
    def lake(self) -> Path:
        """The lake folder (local lakes only; use :attr:`store` for any lake)."""
        if not self.store.local:
            raise ValueError(f"the lake {self.store.url} is not a local folder")
        return Path(self.store.root)

    # -- writing ---------------------------------------------------------------------------------
    def partition_path(self, table: str, column: str, value: str) -> Path:
        return Path(self.partition_file(table, column, value))

    def partition_file(self, table: str, column: str, value: str) -> str:
        _safe(table, column, value)
        return self.store.path(table, f"{column}={value}", "data.parquet")

    def write_partition(self, table: str, column: str, value: str, df: pl.DataFrame) -> PartitionFile:
        """Replace partition ``column=value`` of ``table`` with ``df`` (checked against the table's declared
        columns); held back until :meth:`record_lineage` when the warehouse is deferred."""
        if column in df.columns:
            raise ValueError(f"{table}: partition column {column!r} is implied by the folder name; drop it from the frame")
        df = conform(table, column, df)
        staged = self.store.stage_parquet(df, self.partition_file(table, column, value))
        sha = self.store.sha256(staged.tmp)
        if self.deferred:
            self._pending.append(staged)
        else:
            self.store.commit(staged)
        return PartitionFile(table, f"{column}={value}", staged.target, df.height, sha)

    def commit(self) -> None:
        """Move every held-back partition into place."""
        pending, self._pending = self._pending, []
        for staged in pending:
            self.store.commit(staged)
        drops, self._pending_drops = self._pending_drops, []
        for path in drops:
            self.store.remove(path)

    def discard(self) -> None:
        """Drop every held-back partition (a failed materialisation leaves the lake as it was)."""
        pending, self._pending = self._pending, []
        for staged in pending:
            self.store.discard(staged)
        self._pending_drops.clear()

    def drop_partition(self, table: str, column: str, value: str) -> bool:
        """Remove a partition (with the other writes when deferred); True if it exists."""
        path = self.partition_file(table, column, value)
        if not self.store.exists(path):
            return False
        if self.deferred:
            self._pending_drops.append(path)
        else:
            self.store.remove(path)
        return True

    def record_lineage(self, rec: LineageRecord) -> None:
        """Commit the held-back partitions, then write the lineage record (its presence marks the commit)."""
        self.commit()
        part = rec.partition_key if rec.partition_key is not None else "_"
        _safe(rec.asset_key.replace("/", "__"), part, rec.run_id)
        target = self.store.path(LINEAGE_DIR, rec.asset_key.replace("/", "__"), part, f"{rec.run_id}.parquet")
        self.store.commit(self.store.stage_parquet(rec.frame(), target))

    # -- reading ---------------------------------------------------------------------------------
    def partition_values(self, table: str) -> list[str]:
        """The values of ``table``'s partitions present in the lake."""
        col = TABLES[table].partition
        return [p.rsplit("/", 2)[-2].split("=", 1)[1] for p in self.store.glob(f"{table}/{col}=*/data.parquet")]

    def read_partition(self, table: str, value: str) -> pl.DataFrame | None:
        path = self.partition_file(table, TABLES[table].partition, value)
        return self.store.read_parquet(path) if self.store.exists(path) else None

    def read_table(self, table: str, values: list[str] | None = None, required: bool = False) -> pl.DataFrame:
        """The partitions ``values`` (default: all) of ``table`` with the partition column restored as text.

        ``required``: a missing partition raises ``LookupError`` naming it."""
        spec = TABLES[table]
        frames = []
        for v in self.partition_values(table) if values is None else values:
            df = self.read_partition(table, v)
            if df is None:
                if required:
                    raise LookupError(f"{table}: partition {spec.partition}={v} is not in the lake {self.store.url}")
                continue
            frames.append(df.with_columns(pl.lit(v).alias(spec.partition)))
        if not frames:
            return spec.empty().with_columns(pl.lit(None, pl.String).alias(spec.partition))
        return pl.concat(frames, how="vertical_relaxed")

    def fingerprint(self, table: str, value: str) -> str | None:
        """sha256 of a partition's rows (content only: the run that wrote them is left out)."""
        df = self.read_partition(table, value)
        return None if df is None else frame_fingerprint(df.drop("run_id", strict=False))

    def lineage(self) -> pl.DataFrame:
        files = self.store.glob(f"{LINEAGE_DIR}/*/*/*.parquet")
        if not files:
            return pl.DataFrame(schema=LINEAGE_COLUMNS)
        return pl.concat([self.store.read_parquet(f) for f in files], how="vertical_relaxed")

    # -- DuckDB, the lens ---------------------------------------------------------------------------
    def _create_views(self, conn: duckdb.DuckDBPyConnection) -> None:
        if not self.store.local:
            # DuckDB reads an object-store lake through the lake's own fsspec filesystem: its httpfs extension
            # is downloaded at first use, which fails offline, and would need credentials configured twice
            conn.register_filesystem(self.store.fs)
        conn.execute(f"SET VARIABLE {LAKE_VARIABLE} = ?", [self.store.url])
        for name, spec in TABLES.items():
            pattern = f"{name}/{spec.partition}=*/data.parquet"
            if self.store.glob(pattern):
                hive = _HIVE_TYPES.get(spec.partition, "VARCHAR")
                conn.execute(
                    f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM read_parquet("
                    f"getvariable('{LAKE_VARIABLE}') || '/{pattern.replace('data.parquet', '*.parquet')}', "
                    f"hive_partitioning = true, union_by_name = true, hive_types = {{'{spec.partition}': '{hive}'}})")
            else:
                empty = spec.empty().with_columns(pl.lit(None, pl.String).alias(spec.partition)).to_arrow()
                conn.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM empty")
        if self.store.glob(f"{LINEAGE_DIR}/*/*/*.parquet"):
            conn.execute(f"CREATE OR REPLACE VIEW lineage AS SELECT * FROM read_parquet("
                         f"getvariable('{LAKE_VARIABLE}') || '/{LINEAGE_DIR}/*/*/*.parquet', union_by_name = true)")
        else:
            empty = pl.DataFrame(schema=LINEAGE_COLUMNS).to_arrow()  # noqa: F841
            conn.execute("CREATE OR REPLACE TABLE lineage AS SELECT * FROM empty")

    @contextlib.contextmanager
    def connect(self, read_only: bool = True) -> Iterator[duckdb.DuckDBPyConnection]:
        """An in-memory DuckDB connection with a view per table over this warehouse's lake. It opens no file,
        so it never waits for (or blocks) a writer. ``read_only`` is accepted for compatibility."""
        conn = duckdb.connect(":memory:")
        try:
            self._create_views(conn)
            yield conn
        finally:
            conn.close()

    def query(self, sql: str, params: list | None = None, read_only: bool = True) -> pl.DataFrame:
        """Run ``sql`` over the lake's views and return a polars frame."""
        with self.connect() as conn:
            return conn.sql(sql, params=params).pl()

    def tables(self) -> list[str]:
        return sorted([*TABLES, "lineage"])

    def _default_lake(self) -> str | None:
        """The lake relative to the project root when it is the default one there (so the DuckDB file keeps
        working from the project root without an absolute path), else None."""
        if self.store.local and Path(self.store.root) == (settings.PROJECT_ROOT / "warehouse" / "lake").resolve():
            return "warehouse/lake"
        return None

    def rebuild(self) -> Path:
        """(Re)write the DuckDB file: its views read the lake named by the ``agenttrace_lake`` variable
        (``SET VARIABLE agenttrace_lake = '…'``), defaulting to ``warehouse/lake`` from the project root, so
        the file holds no absolute path. Written beside the target and renamed: open readers keep the old one."""
        from agenttrace_pipeline.store.atomic import atomic_path

        with atomic_path(self.database, suffix=".duckdb") as tmp:
            tmp.unlink()
            conn = duckdb.connect(str(tmp))
            try:
                self._create_views(conn)
                default = self._default_lake()
                if default is not None:
                    fallback = f"coalesce(getvariable('{LAKE_VARIABLE}'), '{default.replace(chr(39), chr(39) * 2)}')"
                    views = conn.execute("SELECT sql FROM duckdb_views() WHERE NOT internal").fetchall()
                    for (sql,) in views:
                        conn.execute(sql.replace("CREATE VIEW", "CREATE OR REPLACE VIEW", 1)
                                     .replace(f"getvariable('{LAKE_VARIABLE}')", fallback))
            finally:
                conn.close()
        return self.database

