"""Simulated-engine throughput beside its target (issue 12): streamed 32-token completions at concurrency 32.

``agenttrace serve-sim --time-scale 0`` (modelled time, no waiting) runs in its own process, as a user starts it;
a lean client in this process (raw HTTP/1.1 over 32 kept-alive connections, reading each streamed body to its
end) sends the requests. Target ≥ 500 requests/s; the anchor is vLLM's CPU build with a tiny model, 322 req/s
(REFERENCE §4). Beside the wall-clock rate it prints the server's CPU time per request, which says what one
free core gives on a machine shared with other work (the conditions line says how busy it was).

Run: ``uv run python benchmarks/bench_simserver.py [--requests 4000]``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from urllib.parse import urlsplit

import orjson

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from _sim_process import conditions, cpu_s, serve_sim

TOKENS = 32
CONCURRENCY = 32
VLLM_CPU_ANCHOR = 322.0


async def _worker(host: str, port: int, todo: list[int], got: list[int]) -> None:
    r, w = await asyncio.open_connection(host, port)
    while todo:
        i = todo.pop()
        body = orjson.dumps({"model": "sim", "prompt": f"request {i} " * 20, "max_tokens": TOKENS, "stream": True,
                             "stream_options": {"include_usage": True}})
        w.write(b"POST /v1/completions HTTP/1.1\r\nhost: %s\r\ncontent-type: application/json\r\n"
                b"content-length: %d\r\n\r\n%s" % (host.encode(), len(body), body))
        buf = b""
        while not buf.endswith(b"\r\n0\r\n\r\n"):  # the end of the chunked body
            data = await r.read(1 << 16)
            if not data:
                raise RuntimeError("the server closed the connection")
            buf += data
        got[0] += 1
        got[1] += buf.count(b'"text":"')  # token events (the usage chunk carries no text)
    w.close()


def _load(url: str, n: int) -> tuple[float, int, int]:
    """(wall seconds, requests, token events) for ``n`` requests at :data:`CONCURRENCY`."""
    u = urlsplit(url)
    todo, got = list(range(n)), [0, 0]

    async def main() -> float:
        t = time.perf_counter()
        await asyncio.gather(*(_worker(u.hostname or "", u.port or 80, todo, got) for _ in range(CONCURRENCY)))
        return time.perf_counter() - t

    return asyncio.run(main()), got[0], got[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=4000)
    args = ap.parse_args()
    with serve_sim("--time-scale", "0") as (url, pid):
        _load(url, 300)  # warm-up: first requests compile the cache kernel
        cpu0, client0 = cpu_s(pid), time.process_time()
        wall, done, events = _load(url, args.requests)
        server_cpu, client_cpu = cpu_s(pid) - cpu0, time.process_time() - client0
    rps = done / wall
    print("## simulated engine throughput\n")
    print(f"conditions: {conditions()}; server `agenttrace serve-sim --time-scale 0` in its own process, "
          f"lean raw-HTTP client in another\n")
    print("| measure | measured | target | anchor |")
    print("|---|---|---|---|")
    print(f"| streamed {TOKENS}-token completions, concurrency {CONCURRENCY} ({done:,} requests, "
          f"{events / max(done, 1):.0f} token events each) | {rps:,.0f} req/s wall | ≥ 500 req/s | "
          f"vLLM CPU build, tiny model: {VLLM_CPU_ANCHOR:.0f} req/s |")
    print(f"| server CPU per request | {1e3 * server_cpu / done:.2f} ms = {done / server_cpu:,.0f} req/s per "
          f"server core (client used {client_cpu:.1f} CPU-s) | | |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
