"""Project-wide resources."""

import dagster as dg

from agenttrace_pipeline.defs.lib.warehouse import WarehouseResource


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources={"warehouse": WarehouseResource()})
