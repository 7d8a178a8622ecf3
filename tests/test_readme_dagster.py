"""Every command of the README's Dagster blocks (the UI section, the seed backfill block and Automation),
run as written in throwaway folders: servers (`./dev ui`, `dagster dev`, `dg dev`, `agenttrace ui`) are
started in their own process group on a free port instead of 3000, probed through GraphQL and stopped; every
other command must exit 0, and what it should have done is checked in the warehouse or its output."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import httpx
import orjson
import pytest

from agenttrace_pipeline import settings
from agenttrace_pipeline.store.warehouse import Warehouse
from tests.ui.server import free_port, stop_group, throwaway_env, wait_for_graphql

README = settings.PROJECT_ROOT / "README.md"
UV = shutil.which("uv") or str(settings.PROJECT_ROOT / ".tools" / "bin" / "uv")
STATUSES = """{ repositoriesOrError { ... on RepositoryConnection { nodes {
  schedules { name scheduleState { status } } sensors { name sensorState { status } } } } } }"""
SERVER = re.compile(r"(dagster dev|dg dev|agenttrace ui|\./dev ui)\b")
pytestmark = [pytest.mark.slow, pytest.mark.skipif(not Path(UV).exists(), reason="uv is not installed")]


def _sections() -> dict[str, str]:
    parts = re.split(r"^## ", README.read_text(), flags=re.M)
    return {p.split("\n", 1)[0]: p for p in parts[1:]}


def _blocks(text: str) -> list[str]:
    return re.findall(r"```bash\n(.*?)```", text, flags=re.S)


def block(name: str, index: int = 0) -> list[str]:
    """The commands of the README's ``index``-th block in section ``name`` ("backfill": the block with the
    partition range): comments dropped (a ``#`` after two spaces, or a whole line)."""
    sections = _sections()
    if name == "backfill":
        (text,) = [b for s in sections.values() for b in _blocks(s) if "--partition-range" in b]
    else:
        text = _blocks(sections[name])[index]
    lines = [re.split(r"\s{2,}#", line)[0].strip() for line in text.splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def _with_port(cmd: str, port: int) -> str:
    swapped = re.sub(r"(-p|--port) 3000\b", rf"\g<1> {port}", cmd)
    return swapped if swapped != cmd else f"{cmd} --port {port}"


def run_block(commands: list[str], root: Path) -> tuple[dict[str, str], dict[str, str]]:
    """Run ``commands`` in order from the project root; returns each command's output and the environment."""
    env = throwaway_env(root)
    env["PATH"] = f"{Path(UV).parent}:{env['PATH']}"
    exports: list[str] = []
    outputs: dict[str, str] = {}
    for cmd in commands:
        if cmd.startswith("export "):
            exports.append(cmd)
            continue
        prefix = "".join(f"{e}; " for e in exports)
        if SERVER.search(cmd):
            port = free_port()
            with open(root / f"server-{port}.log", "wb") as log:
                proc = subprocess.Popen(["bash", "-c", prefix + _with_port(cmd, port)], cwd=settings.PROJECT_ROOT,
                                        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            try:
                wait_for_graphql(f"http://127.0.0.1:{port}", proc)
                outputs[cmd] = httpx.post(f"http://127.0.0.1:{port}/graphql", json={"query": STATUSES}, timeout=60).text
            except (RuntimeError, TimeoutError) as exc:
                raise AssertionError(f"{cmd}: {exc}\n{(root / f'server-{port}.log').read_text()[-3000:]}") from None
            finally:
                stop_group(proc)
            continue
        done = subprocess.run(["bash", "-c", "set -e; " + prefix + cmd], cwd=settings.PROJECT_ROOT, env=env,
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"{cmd} exited {done.returncode}:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
        outputs[cmd] = done.stdout + done.stderr
    return outputs, env


def _seeds(env: dict[str, str], table: str) -> dict[str, int]:
    wh = Warehouse(env["AGENTTRACE_WAREHOUSE"])
    df = wh.query(f"SELECT CAST(seed AS VARCHAR) AS seed, count(*) AS n FROM {table} GROUP BY seed")
    return dict(zip(df["seed"].to_list(), df["n"].to_list(), strict=True))


def test_dagster_ui_section(tmp_path: Path):
    commands = block("The Dagster UI")
    assert any(c.startswith("uv run dg launch") for c in commands) and any("dagster dev" in c for c in commands)
    outputs, env = run_block(commands, tmp_path)
    listed = next(v for k, v in outputs.items() if "dg list defs" in k)
    for name in ("synthetic_dataset", "generator_profiles", "weekly_regeneration", "source_change"):
        assert name in listed
    # dg launch materialised the whole graph for seed 42, the replay included
    assert _seeds(env, "synthetic_datasets") == {"42": 1}
    assert _seeds(env, "replay_runs") == {"42": 1}
    assert (Path(env["DAGSTER_HOME"]) / "history").is_dir()  # run history went to the exported instance


def test_seed_backfill_block(tmp_path: Path):
    commands = block("backfill")
    outputs, env = run_block(commands, tmp_path)
    assert _seeds(env, "synthetic_datasets") == {str(s): 1 for s in range(1, 9)}  # each seed once, after two runs


def _statuses(graphql_answer: str) -> dict[str, str]:
    (repo,) = orjson.loads(graphql_answer)["data"]["repositoriesOrError"]["nodes"]
    return ({s["name"]: s["scheduleState"]["status"] for s in repo["schedules"]}
            | {s["name"]: s["sensorState"]["status"] for s in repo["sensors"]})


AUTOMATION = ("weekly_regeneration", "nightly_regeneration", "source_change", "automation_conditions")


def test_automation_switch_block(tmp_path: Path):
    outputs, _ = run_block(block("Automation: schedules and sensors", 0), tmp_path)
    (answer,) = outputs.values()
    statuses = _statuses(answer)
    assert {name: statuses[name] for name in AUTOMATION} == dict.fromkeys(AUTOMATION, "RUNNING")


def test_automation_one_by_one_block(tmp_path: Path):
    outputs, _ = run_block(block("Automation: schedules and sensors", 1), tmp_path)
    listed = next(v for k, v in outputs.items() if "schedule list" in k) + next(v for k, v in outputs.items() if "sensor list" in k)
    for name in AUTOMATION:
        assert re.search(rf"(Schedule|Sensor): {name} \[RUNNING\]", listed), listed[-2000:]
