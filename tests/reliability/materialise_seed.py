"""Materialise generation, simulation and replay for one seed partition (the process the kill tests kill).

Usage: ``python materialise_seed.py SEED NUM_SESSIONS``; the environment names the warehouse, outputs and
DAGSTER_HOME. Dagster's log (INFO) goes to stderr, where the tests wait for an asset's own log line; the
last stdout line is ``run_id=<id> success=<bool>``.
"""

from __future__ import annotations

import sys

import dagster as dg

from agenttrace_pipeline.defs.analysis.assets import cache_simulation
from agenttrace_pipeline.defs.replay.assets import replay_run
from agenttrace_pipeline.defs.synthesis.assets import synthetic_dataset
from agenttrace_pipeline.lib.endpoint import InferenceEndpoint
from agenttrace_pipeline.lib.warehouse import WarehouseResource


def main(seed: str, num_sessions: int) -> int:
    instance = dg.DagsterInstance.get()
    instance.add_dynamic_partitions("seeds", [seed])
    result = dg.materialize(
        [synthetic_dataset, cache_simulation, replay_run], partition_key=seed, instance=instance,
        resources={"warehouse": WarehouseResource(), "endpoint": InferenceEndpoint()},
        run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}},
                    "ops": {"synthetic_dataset": {"config": {"num_sessions": num_sessions}},
                            "cache_simulation": {"config": {"policies": ["lru"], "capacities": [4096]}},
                            "replay_run": {"config": {"max_requests": 150, "concurrency": 8}}}},
        raise_on_error=False,
    )
    print(f"run_id={result.run_id} success={result.success}", flush=True)
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2])))
