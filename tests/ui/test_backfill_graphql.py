"""Backfills by seed through the webserver and the daemon: seeds added and a partition backfill launched
through GraphQL (what the UI sends), the daemon runs it, and the warehouse ends with each seed exactly once."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from agenttrace_pipeline.store.warehouse import Warehouse
from tests.ui.server import DagsterServer

pytestmark = pytest.mark.slow
SEEDS = ["11", "12", "13"]

ADD_PARTITION = """
mutation Add($selector: RepositorySelector!, $key: String!) {
  addDynamicPartition(repositorySelector: $selector, partitionsDefName: "seeds", partitionKey: $key) {
    __typename ... on PythonError { message }
  }
}"""
LAUNCH = """
mutation Launch($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message }
    ... on InvalidSubsetError { message }
  }
}"""
STATUS = """
query Status($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    ... on PartitionBackfill { status runs(limit: 50) { runId status } }
  }
}"""


def _repository(server: DagsterServer) -> dict:
    data = server.graphql("{ repositoriesOrError { ... on RepositoryConnection { nodes { name location { name } } } } }")
    (repo,) = data["repositoriesOrError"]["nodes"]
    return {"repositoryName": repo["name"], "repositoryLocationName": repo["location"]["name"]}


def _wait(server: DagsterServer, backfill_id: str, timeout_s: float = 300) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        backfill = server.graphql(STATUS, {"id": backfill_id})["partitionBackfillOrError"]
        if backfill["status"] not in ("REQUESTED", "CANCELING", "FAILING"):
            return backfill
        time.sleep(2)
    raise TimeoutError(f"backfill {backfill_id} still running after {timeout_s:.0f} s: {backfill}")


def test_backfill_of_several_seeds_through_graphql(dagster_server: DagsterServer):
    selector = _repository(dagster_server)
    for key in SEEDS:
        added = dagster_server.graphql(ADD_PARTITION, {"selector": selector, "key": key})["addDynamicPartition"]
        assert added["__typename"] == "AddDynamicPartitionSuccess", added
    params = {
        "partitionNames": SEEDS,
        "assetSelection": [{"path": ["synthetic_dataset"]}, {"path": ["dataset_quality"]}],
        "runConfigData": {"ops": {"synthetic_dataset": {"config": {"num_sessions": 150}}}},
        "title": "seeds 11-13 from the test",
    }
    launched = dagster_server.graphql(LAUNCH, {"params": params})["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", launched

    backfill = _wait(dagster_server, launched["backfillId"])
    assert backfill["status"] in ("COMPLETED", "COMPLETED_SUCCESS"), backfill
    assert backfill["runs"] and all(r["status"] == "SUCCESS" for r in backfill["runs"]), backfill["runs"]
    run_ids = {r["runId"] for r in backfill["runs"]}

    wh = Warehouse(Path(dagster_server.env["AGENTTRACE_WAREHOUSE"]))
    per_seed = wh.query("SELECT seed, count(*) AS n, min(run_id) AS run FROM synthetic_datasets GROUP BY seed ORDER BY seed")
    assert per_seed["seed"].cast(str).to_list() == SEEDS
    assert per_seed["n"].to_list() == [1, 1, 1]
    assert set(per_seed["run"].to_list()) <= run_ids  # written by the backfill, not by anything else
    quality = wh.query("SELECT seed, count(DISTINCT dataset_id) AS datasets FROM dataset_quality GROUP BY seed ORDER BY seed")
    assert quality["datasets"].to_list() == [1, 1, 1]
    sessions = wh.query("SELECT seed, count(*) AS n, count(DISTINCT session_id) AS u FROM synthetic_sessions GROUP BY seed")
    assert (sessions["n"] == sessions["u"]).all()  # no session written twice
