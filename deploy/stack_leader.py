"""The leader of a local scale-out stack (see local_stack.py): it starts Redis, Postgres, the Celery workers,
the webserver and the daemon as its children, so all share its process group, writes ``<root>/ready`` and
waits to be signalled with the group.

Usage: ``python stack_leader.py ROOT PG_BIN REDIS_PORT PG_PORT WEB_PORT WORKER_NAME…``; the environment holds
DAGSTER_HOME and the AGENTTRACE_* variables."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

import httpx

DEPLOY = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent


def wait_for(what: str, ready, timeout_s: float, log: Path | None = None, proc: subprocess.Popen | None = None) -> None:
    """Poll ``ready()`` until it is true; raise with the tail of ``log`` on timeout or when ``proc`` ends."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if ready():
            return
        if proc is not None and proc.poll() is not None:
            break
        time.sleep(0.3)
    tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
    state = f"exited with {proc.returncode}" if proc is not None and proc.returncode is not None else f"not ready after {timeout_s:.0f} s"
    raise TimeoutError(f"{what} {state}\n{tail}")


def spawn(root: Path, name: str, args: list[str], **kw) -> tuple[Path, subprocess.Popen]:
    """Start ``args`` in this process group with output to ``<root>/<name>.log``."""
    log = root / f"{name}.log"
    kw.setdefault("cwd", DEPLOY.parent)
    with open(log, "wb") as fh:
        proc = subprocess.Popen(args, stdout=fh, stderr=subprocess.STDOUT, **kw)
    return log, proc


def start_postgres(root: Path, pg_bin: Path, port: int) -> tuple[Path, subprocess.Popen]:
    """initdb and run Postgres on 127.0.0.1:``port`` (as Debian's ``postgres`` user when we are root: it refuses
    root); its folder is outside ``root``, which only root may enter. Returns that folder and the server."""
    data = Path(tempfile.mkdtemp(prefix="agenttrace-pg-"))
    user = {"user": "postgres", "group": "postgres"} if os.geteuid() == 0 else {}
    if user:
        shutil.chown(data, "postgres", "postgres")
    subprocess.run([str(pg_bin / "initdb"), "-D", str(data / "db"), "-U", "postgres", "--auth=trust", "-E", "UTF8"],
                   check=True, capture_output=True, cwd=data, **user)
    log, server = spawn(root, "postgres", [str(pg_bin / "postgres"), "-D", str(data / "db"), "-p", str(port), "-c",
                                   "listen_addresses=127.0.0.1", "-k", str(data), "-c", "fsync=off"], cwd=data, **user)
    wait_for("postgres", lambda: subprocess.run([str(pg_bin / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)],
                                                capture_output=True).returncode == 0, 60, log)
    return data, server


def web_ready(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/server_info", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def main(root: Path, pg_bin: Path, redis_port: int, pg_port: int, web_port: int, workers: list[str]) -> None:
    home = Path(os.environ["DAGSTER_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(DEPLOY / "dagster.yaml", home / "dagster.yaml")
    log, _ = spawn(root, "redis", ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no", "--dir", str(root)])
    wait_for("redis", lambda: subprocess.run(["redis-cli", "-p", str(redis_port), "ping"], capture_output=True)
             .stdout.strip() == b"PONG", 30, log)
    pg_data, postgres = start_postgres(root, pg_bin, pg_port)
    try:
        procs = {}
        for name in workers:  # solo pool: one step at a time per worker, run in the worker process itself
            procs[name] = spawn(root, name, [str(BIN / "dagster-celery"), "worker", "start", "-A", "dagster_celery.app",
                               "-y", str(DEPLOY / "celery.yaml"), "-n", name, "--", "--pool=solo"])
        workspace = str(DEPLOY / "workspace.yaml")
        procs["webserver"] = web, _ = spawn(root, "webserver", [str(BIN / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(web_port),
                                        "-w", workspace])
        spawn(root, "daemon", [str(BIN / "dagster-daemon"), "run", "-w", workspace])
        for name in workers:
            log, proc = procs[name]
            wait_for(f"celery worker {name}", lambda lg=log: b" ready." in lg.read_bytes(), 240, log, proc)
        wait_for("dagster webserver", lambda: web_ready(web_port), 240, web, procs["webserver"][1])
        (root / "ready").write_text("ready\n")
        while True:
            signal.pause()  # until the group's SIGTERM (the handler raises SystemExit)
    finally:
        try:
            postgres.wait(timeout=15)  # it got the group's signal too; let it finish before its folder goes
        except subprocess.TimeoutExpired:
            postgres.kill()
        shutil.rmtree(pg_data, ignore_errors=True)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        main(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6:])
    except Exception:
        traceback.print_exc()
        sys.stdout.flush()
        os.killpg(0, signal.SIGKILL)  # a failed start leaves nothing behind (this process included)
