"""A one-machine Celery deployment for tests and benchmarks: Redis, Postgres, Dagster webserver and daemon,
and Celery workers on 127.0.0.1, all in one process group that :meth:`LocalStack.stop` ends.

Redis and Postgres come from Debian (``redis-server``, ``postgresql``); :func:`ensure_servers` installs them
with apt-get when it runs as root and returns why not otherwise. Postgres refuses to run as root, so as root
the cluster is initialised and run as Debian's ``postgres`` user. Usage::

    with LocalStack(tmp, env={"AGENTTRACE_WAREHOUSE": …}, workers=2) as stack:
        stack.graphql(QUERY, variables)   # the webserver's GraphQL endpoint
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stack_leader import wait_for

DEPLOY = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent


class StackUnavailable(RuntimeError):
    """Redis or Postgres is missing and cannot be installed here; the message says why."""


def _postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    return Path(found[-1]).parent if found else None


def ensure_servers() -> Path:
    """Postgres' bin folder, after installing ``redis-server`` and ``postgresql`` with apt-get if needed."""
    if shutil.which("redis-server") and _postgres_bin():
        return _postgres_bin()  # type: ignore[return-value]
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise StackUnavailable("redis-server or postgresql is not installed, and apt-get cannot run here (not root)")
    env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "redis-server", "postgresql"]):
        done = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise StackUnavailable(f"`{' '.join(cmd)}` failed: {done.stderr.strip()[-500:]}")
    if not (shutil.which("redis-server") and _postgres_bin()):
        raise StackUnavailable("apt-get ran but redis-server or postgres is still missing")
    return _postgres_bin()  # type: ignore[return-value]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalStack:
    """Redis, Postgres, webserver, daemon and ``workers`` Celery workers; ``env`` is added to every process.

    A leader process (this file run as a script, in a new session) starts them all as its children, so they
    share its process group; :meth:`stop` signals that group."""

    def __init__(self, root: Path, env: dict[str, str], workers: int = 2) -> None:
        self.root, self.workers = Path(root), workers
        self.leader: subprocess.Popen | None = None
        self.redis_port, self.pg_port, self.web_port = free_port(), free_port(), free_port()
        self.env = os.environ | env | {
            "DAGSTER_HOME": str(self.root / "dagster_home"),
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",  # the workers run `celery` from the venv
            "AGENTTRACE_DAGSTER_PG_URL": f"postgresql+psycopg2://postgres@127.0.0.1:{self.pg_port}/postgres",
            "AGENTTRACE_CELERY_BROKER": f"redis://127.0.0.1:{self.redis_port}/0",
            "AGENTTRACE_CELERY_BACKEND": f"redis://127.0.0.1:{self.redis_port}/1",
        }
        self.worker_names = [f"w{i + 1}" for i in range(workers)]

    def start(self) -> LocalStack:
        pg_bin = ensure_servers()
        self.root.mkdir(parents=True, exist_ok=True)
        log = self.root / "leader.log"
        with open(log, "wb") as fh:
            self.leader = subprocess.Popen(
                [sys.executable, str(DEPLOY / "stack_leader.py"), str(self.root), str(pg_bin), str(self.redis_port), str(self.pg_port),
                 str(self.web_port), *self.worker_names],
                stdout=fh, stderr=subprocess.STDOUT, env=self.env, cwd=DEPLOY.parent, start_new_session=True)
        ready = self.root / "ready"
        wait_for("the scale-out stack", lambda: ready.exists() or self.leader.poll() is not None, 300, log)
        if not ready.exists():
            raise RuntimeError(f"the scale-out stack did not start:\n{log.read_text(errors='replace')[-4000:]}")
        return self

    def stop(self) -> None:
        """SIGTERM to the whole group, SIGKILL to what is left after 10 s."""
        if self.leader is None:
            return
        for sig, grace in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 10.0)):
            try:
                os.killpg(self.leader.pid, sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline and group_alive(self.leader.pid):
                time.sleep(0.2)
                self.leader.poll()
        self.leader.wait(timeout=10)
        self.leader = None

    def __enter__(self) -> LocalStack:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- clients -----------------------------------------------------------------------------------
    def graphql(self, query: str, variables: dict | None = None) -> dict:
        """POST ``query`` to the webserver; the ``data`` of the answer (GraphQL errors raise)."""
        r = httpx.post(f"http://127.0.0.1:{self.web_port}/graphql", json={"query": query, "variables": variables or {}},
                       timeout=60)
        r.raise_for_status()
        body = r.json()
        if body.get("errors"):
            raise RuntimeError(f"GraphQL errors: {body['errors']}")
        return body["data"]

    def add_seeds(self, seeds: list[str]) -> None:
        """Add ``seeds`` to the dynamic partition set ``seeds`` of the scale-out code location."""
        for seed in seeds:
            got = self.graphql(ADD_PARTITION, {"repo": REPO, "key": seed})["addDynamicPartition"]
            if got["__typename"] != "AddDynamicPartitionSuccess":
                raise RuntimeError(f"adding seed {seed}: {got}")

    def backfill(self, seeds: list[str], assets: list[str], timeout_s: float = 900) -> tuple[str, str, float]:
        """Backfill ``assets`` for ``seeds`` through the daemon; (backfill id, final status, seconds taken)."""
        t0 = time.monotonic()
        params = {"partitionNames": seeds, "assetSelection": [{"path": [a]} for a in assets]}
        got = self.graphql(LAUNCH_BACKFILL, {"params": params})["launchPartitionBackfill"]
        if got["__typename"] != "LaunchBackfillSuccess":
            raise RuntimeError(f"backfill not launched: {got}")
        bid = got["backfillId"]
        status = "REQUESTED"
        deadline = t0 + timeout_s
        while time.monotonic() < deadline:
            status = self.graphql(BACKFILL_STATUS, {"id": bid})["partitionBackfillOrError"]["status"]
            if status not in ("REQUESTED", "CANCELING", "FAILING"):
                break
            time.sleep(0.5)
        return bid, status, time.monotonic() - t0


REPO = {"repositoryLocationName": "agenttrace_pipeline_celery", "repositoryName": "__repository__"}
ADD_PARTITION = """mutation($repo: RepositorySelector!, $key: String!) {
  addDynamicPartition(repositorySelector: $repo, partitionsDefName: "seeds", partitionKey: $key) {
    __typename ... on PythonError { message } ... on UnauthorizedError { message } } }"""
LAUNCH_BACKFILL = """mutation($params: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $params) {
  __typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message stack }
  ... on PartitionSetNotFoundError { message } ... on UnauthorizedError { message } } }"""
BACKFILL_STATUS = """query($id: String!) { partitionBackfillOrError(backfillId: $id) {
  ... on PartitionBackfill { status } ... on PythonError { message } } }"""


def group_alive(pgid: int) -> bool:
    """True while any process of group ``pgid`` lives."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True
