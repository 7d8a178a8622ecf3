"""The warehouse as a Dagster resource, and lineage recording from an asset's context."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import dagster as dg
from pydantic import PrivateAttr

from agenttrace_pipeline import settings
from agenttrace_pipeline.store.warehouse import LineageRecord, PartitionFile, Warehouse, combined_fingerprint


class WarehouseResource(dg.ConfigurableResource):
    """The Parquet lake (and the DuckDB file of views over it). Empty fields fall back to
    AGENTTRACE_WAREHOUSE / AGENTTRACE_LAKE, then to ``warehouse/agenttrace.duckdb`` and ``warehouse/lake``.

    Partition writes are held back until the asset records its lineage; whatever an asset staged but did not
    commit (it failed) is discarded when the run's resources are torn down."""

    database: str = ""
    lake: str = ""
    _opened: list[Warehouse] = PrivateAttr(default_factory=list)

    def get(self) -> Warehouse:
        wh = Warehouse(self.database or None, self.lake or None, deferred=True)
        self._opened.append(wh)
        return wh

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        for wh in self._opened:
            wh.discard()
        self._opened.clear()


def record_lineage(
    context: dg.AssetExecutionContext,
    warehouse: Warehouse,
    inputs: Mapping[str, str],
    outputs: Sequence[PartitionFile],
    row_count: int,
    extra_outputs: Mapping[str, str] | None = None,
    partition_key: str | None = None,
) -> LineageRecord:
    """Commit this materialisation's partitions and write its lineage record (``partition_key`` for one
    partition of a multi-partition run; unpartitioned assets record none, whatever the run's partition)."""
    out_shas = {str(p.path): p.sha256 for p in outputs} | dict(extra_outputs or {})
    partitioned = context.assets_def.partitions_def is not None
    rec = LineageRecord(
        asset_key=context.asset_key.to_user_string(),
        partition_key=(partition_key or context.partition_key) if partitioned else None,
        run_id=context.run.run_id,
        code_version=context.assets_def.code_versions_by_key.get(context.asset_key) or settings.code_version(),
        input_fingerprints=dict(inputs),
        output_fingerprint=combined_fingerprint(out_shas),
        row_count=row_count,
        output_paths=sorted(out_shas),
    )
    warehouse.record_lineage(rec)
    return rec
