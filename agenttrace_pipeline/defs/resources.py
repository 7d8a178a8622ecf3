"""Project-wide resources."""

import dagster as dg

from agenttrace_pipeline.lib.endpoint import InferenceEndpoint
from agenttrace_pipeline.lib.warehouse import WarehouseResource


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources={"warehouse": WarehouseResource(), "endpoint": InferenceEndpoint()})
