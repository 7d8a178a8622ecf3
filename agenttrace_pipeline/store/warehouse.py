"""The DuckDB warehouse: facts as Parquet partitions in a lake folder, views over them, a lineage table.

Layout::

    <lake>/<table>/<column>=<value>/data.parquet     one file per partition, replaced atomically
    <db>                                             DuckDB file: the ``lineage`` table and one view per table

A partition is written to a temporary name and renamed over ``data.parquet``, so re-materialising it
replaces it whole (no duplicates) and a reader never sees half a write. Views are created from the
``warehouse/views/<table>.sql`` files once their table has data.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from string import Template

import duckdb
import orjson
import polars as pl

from agenttrace_pipeline import settings
from agenttrace_pipeline.store.atomic import atomic_path, sha256_file

_SAFE = re.compile(r"^[A-Za-z0-9_.-]+$")


@dataclass(frozen=True, slots=True)
class PartitionFile:
    table: str
    partition: str
    path: Path
    rows: int
    sha256: str


@dataclass(frozen=True, slots=True)
class LineageRecord:
    asset_key: str
    partition_key: str | None
    run_id: str
    code_version: str
    input_fingerprints: Mapping[str, str]
    output_fingerprint: str
    row_count: int
    output_paths: list[str] = field(default_factory=list)
    materialized_at: datetime = field(default_factory=lambda: datetime.now(UTC))


def combined_fingerprint(shas: Mapping[str, str] | list[str]) -> str:
    """One sha256 over several named digests (order-independent for mappings)."""
    items = sorted(shas.items()) if isinstance(shas, Mapping) else [(str(i), s) for i, s in enumerate(shas)]
    return hashlib.sha256(orjson.dumps(items)).hexdigest()


class Warehouse:
    """Access to one warehouse: ``Warehouse()`` uses the defaults from :mod:`agenttrace_pipeline.settings`."""

    def __init__(self, database: str | Path | None = None, lake: str | Path | None = None) -> None:
        self.database = Path(database).expanduser().resolve() if database else settings.warehouse_db()
        self.lake = Path(lake).expanduser().resolve() if lake else settings.lake_root(self.database)
        self._initialised = False

    def __repr__(self) -> str:
        return f"Warehouse(database={str(self.database)!r}, lake={str(self.lake)!r})"

    # -- connections -----------------------------------------------------------------------------
    @contextlib.contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A short-lived connection; the DDL is applied on the first writable one."""
        self.database.parent.mkdir(parents=True, exist_ok=True)
        if read_only and not self.database.exists():
            read_only = False
        conn = duckdb.connect(str(self.database), read_only=read_only)
        try:
            if not read_only and not self._initialised:
                self._apply_ddl(conn)
                self._initialised = True
            yield conn
        finally:
            conn.close()

    def _apply_ddl(self, conn: duckdb.DuckDBPyConnection) -> None:
        for path in sorted((settings.sql_dir() / "ddl").glob("*.sql")):
            conn.execute(path.read_text())
        for view in sorted((settings.sql_dir() / "views").glob("*.sql")):
            if self._has_data(view.stem):
                conn.execute(self._view_sql(view.stem))

    def _view_sql(self, table: str) -> str:
        path = settings.sql_dir() / "views" / f"{table}.sql"
        if not path.exists():
            raise FileNotFoundError(f"no view definition for table {table!r}: expected {path}")
        return Template(path.read_text()).substitute(lake=self.lake.as_posix())

    def _has_data(self, table: str) -> bool:
        return any((self.lake / table).glob("*/*.parquet"))

    # -- facts -----------------------------------------------------------------------------------
    def partition_path(self, table: str, column: str, value: str) -> Path:
        for part in (table, column, value):
            if not _SAFE.match(part):
                raise ValueError(f"unsafe warehouse name {part!r}: use letters, digits, '_', '-', '.'")
        return self.lake / table / f"{column}={value}" / "data.parquet"

    def write_partition(self, table: str, column: str, value: str, df: pl.DataFrame) -> PartitionFile:
        """Replace partition ``column=value`` of ``table`` with ``df`` and refresh the table's view."""
        if column in df.columns:
            raise ValueError(f"{table}: partition column {column!r} is implied by the folder name; drop it from the frame")
        dest = self.partition_path(table, column, value)
        with atomic_path(dest, suffix=".parquet") as tmp:
            df.write_parquet(tmp, compression="zstd", statistics=True)
        with self.connect() as conn:
            conn.execute(self._view_sql(table))
        return PartitionFile(table, f"{column}={value}", dest, df.height, sha256_file(dest))

    def drop_partition(self, table: str, column: str, value: str) -> bool:
        dest = self.partition_path(table, column, value)
        if not dest.exists():
            return False
        dest.unlink()
        with contextlib.suppress(OSError):
            dest.parent.rmdir()
        return True

    # -- lineage ---------------------------------------------------------------------------------
    def record_lineage(self, rec: LineageRecord) -> None:
        with self.connect() as conn:
            conn.execute(
                "INSERT INTO lineage VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    rec.asset_key,
                    rec.partition_key,
                    rec.run_id,
                    rec.code_version,
                    orjson.dumps(dict(rec.input_fingerprints)).decode(),
                    rec.output_fingerprint,
                    rec.row_count,
                    orjson.dumps(rec.output_paths).decode(),
                    rec.materialized_at,
                ],
            )

    # -- reading ---------------------------------------------------------------------------------
    def query(self, sql: str, params: list | None = None, read_only: bool = False) -> pl.DataFrame:
        """Run ``sql`` and return the result as a polars frame (``read_only``: never take the write lock)."""
        with self.connect(read_only=read_only) as conn:
            # conn.sql(...).pl() is the form that also works on duckdb 2.x.
            return conn.sql(sql, params=params).pl()

    def tables(self) -> list[str]:
        with self.connect() as conn:
            return [r[0] for r in conn.execute("SELECT table_name FROM information_schema.tables ORDER BY 1").fetchall()]
