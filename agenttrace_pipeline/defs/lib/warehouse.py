"""The warehouse as a Dagster resource, and lineage recording from an asset's context."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import dagster as dg

from agenttrace_pipeline import settings
from agenttrace_pipeline.store.warehouse import LineageRecord, PartitionFile, Warehouse, combined_fingerprint


class WarehouseResource(dg.ConfigurableResource):
    """DuckDB warehouse. Empty fields fall back to AGENTTRACE_WAREHOUSE / AGENTTRACE_LAKE, then to
    ``warehouse/agenttrace.duckdb`` and ``warehouse/lake`` in the project."""

    database: str = ""
    lake: str = ""

    def get(self) -> Warehouse:
        return Warehouse(self.database or None, self.lake or None)


def record_lineage(
    context: dg.AssetExecutionContext,
    warehouse: Warehouse,
    inputs: Mapping[str, str],
    outputs: Sequence[PartitionFile],
    row_count: int,
    extra_outputs: Mapping[str, str] | None = None,
    partition_key: str | None = None,
) -> LineageRecord:
    """Append this materialisation (of ``partition_key`` in multi-partition runs) to the ``lineage`` table."""
    out_shas = {str(p.path): p.sha256 for p in outputs} | dict(extra_outputs or {})
    rec = LineageRecord(
        asset_key=context.asset_key.to_user_string(),
        partition_key=partition_key or (context.partition_key if context.has_partition_key else None),
        run_id=context.run.run_id,
        code_version=settings.code_version(),
        input_fingerprints=dict(inputs),
        output_fingerprint=combined_fingerprint(out_shas),
        row_count=row_count,
        output_paths=sorted(out_shas),
    )
    warehouse.record_lineage(rec)
    return rec
