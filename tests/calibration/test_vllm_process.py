"""Starting and stopping the engine's process group, and reading vLLM's KV geometry — with a stand-in server
(a small script that answers like vLLM and forks a child), so no vLLM is needed."""

from __future__ import annotations

import os
import socket
import sys
import time
from pathlib import Path

import pytest

from agenttrace_pipeline.calibration.vllm_cpu import EngineUnavailable, VllmSettings, cache_config, running_vllm

GAUGE = ('vllm:cache_config_info{_block_size_resolved="True",block_size="128",cache_dtype="auto",'
         'kv_offloading_size="None",num_gpu_blocks="1024",num_gpu_blocks_override="1024",sliding_window="None"} 1.0')

FAKE = '''#!{python}
import http.server, os, subprocess, sys
port = int(sys.argv[sys.argv.index("--port") + 1])
child = subprocess.Popen([{python!r}, "-c", "import time; time.sleep(300)"])
open(os.environ["FAKE_PIDS"], "w").write(f"{{os.getpid()}} {{child.pid}}")
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = {gauge!r}.encode() if self.path == "/metrics" else b"ok"
        self.send_response(200); self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
'''


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return not Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"


def test_cache_config_reads_block_size_and_count() -> None:
    assert cache_config(f"# HELP x\n{GAUGE}\n") == (128, 1024)
    with pytest.raises(ValueError, match="no vllm:cache_config_info"):
        cache_config("vllm:prefix_cache_hits_total 3\n")
    with pytest.raises(ValueError, match="lacks block_size"):
        cache_config('vllm:cache_config_info{block_size="16"} 1.0\n')


def test_whole_process_group_stops_even_on_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "python"
    fake.write_text(FAKE.format(python=sys.executable, gauge=GAUGE))
    fake.chmod(0o755)
    monkeypatch.setenv("FAKE_PIDS", str(tmp_path / "pids"))
    settings = VllmSettings(tmp_path, port=_port(), startup_timeout_s=30)
    with pytest.raises(RuntimeError, match="boom"), running_vllm(fake, settings, tmp_path / "log") as h:
        assert (h.block_size, h.num_blocks) == (128, 1024)
        server, child = map(int, (tmp_path / "pids").read_text().split())
        assert _alive(server) and _alive(child)
        raise RuntimeError("boom")
    deadline = time.monotonic() + 10
    while (_alive(server) or _alive(child)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(server) and not _alive(child)  # the forked child went with the group


def test_a_server_that_exits_at_startup_is_reported_with_its_log(tmp_path: Path) -> None:
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\necho 'no AVX-512 here' >&2\nexit 3\n")
    fake.chmod(0o755)
    with pytest.raises(EngineUnavailable, match="exited with 3(.|\n)*no AVX-512 here"), \
            running_vllm(fake, VllmSettings(tmp_path, port=_port(), startup_timeout_s=30), tmp_path / "log"):
        pass
