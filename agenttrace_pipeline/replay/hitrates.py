"""Server-side prefix-cache counters (Prometheus text) and the three hit rates of a replay.

Counter pairs, first found wins (REFERENCE §2, §7): vLLM V1 ``vllm:prefix_cache_hits_total`` /
``vllm:prefix_cache_queries_total``; older vLLM ``vllm:gpu_prefix_cache_hits(_total)`` /
``vllm:gpu_prefix_cache_queries(_total)``; SGLang ``sglang:cached_tokens_total`` / ``sglang:prompt_tokens_total``;
llama.cpp ``llamacpp:prompt_tokens_cached_total`` / ``llamacpp:prompt_tokens_total``. Values are summed over
label sets (vLLM has one per engine); ``_created`` series are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

PAIRS = (
    ("vllm", "vllm:prefix_cache_hits_total", "vllm:prefix_cache_queries_total"),
    ("vllm-old", "vllm:gpu_prefix_cache_hits_total", "vllm:gpu_prefix_cache_queries_total"),
    ("vllm-old", "vllm:gpu_prefix_cache_hits", "vllm:gpu_prefix_cache_queries"),
    ("sglang", "sglang:cached_tokens_total", "sglang:prompt_tokens_total"),
    ("llamacpp", "llamacpp:prompt_tokens_cached_total", "llamacpp:prompt_tokens_total"),
)
MISMATCH_PP = 5.0
FROZEN_SCRAPES = 3


PREEMPTIONS = "vllm:num_preemptions_total"


def parse(text: str) -> dict[str, float]:
    """Metric name -> value summed over its label sets (comments and unparsable lines skipped)."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        if not line or line[0] == "#":
            continue
        name_part, _, value = line.rpartition(" ")
        name = name_part.split("{", 1)[0].strip()
        if not name or name.endswith("_created"):
            continue
        try:
            out[name] = out.get(name, 0.0) + float(value)
        except ValueError:
            continue
    return out


def counters(metrics: dict[str, float]) -> tuple[str, float, float] | None:
    """(dialect, hits, queries) of the first known counter pair present."""
    for dialect, hits, queries in PAIRS:
        if hits in metrics and queries in metrics:
            return dialect, metrics[hits], metrics[queries]
    return None


@dataclass
class Scrapes:
    """Successive scrapes of ``/metrics``; a server without it (or with no known pair) leaves this empty."""

    points: list[tuple[float, float, float]] = field(default_factory=list)  # (time s, hits, queries)
    dialect: str | None = None
    preemptions: list[float] = field(default_factory=list)  # ``vllm:num_preemptions_total`` at each scrape

    async def take(self, client: httpx.AsyncClient, now: float) -> None:
        try:
            r = await client.get("/metrics", timeout=5.0)
        except httpx.HTTPError:
            return
        if r.status_code != 200:
            return
        metrics = parse(r.text)
        found = counters(metrics)
        if found:
            self.dialect = found[0]
            self.points.append((now, found[1], found[2]))
        if PREEMPTIONS in metrics:
            self.preemptions.append(metrics[PREEMPTIONS])

    def preempted(self) -> int | None:
        """Requests the server preempted between the first and the last scrape (None if it does not say)."""
        return int(self.preemptions[-1] - self.preemptions[0]) if len(self.preemptions) >= 2 else None

    def rate(self) -> float | None:
        """Δhits / Δqueries from the first to the last scrape (capped at 1), None without two scrapes."""
        if len(self.points) < 2:
            return None
        dq = self.points[-1][2] - self.points[0][2]
        dh = self.points[-1][1] - self.points[0][1]
        return min(1.0, dh / dq) if dq > 0 else None

    def frozen(self) -> bool:
        """Queries rising while hits stay flat over ``FROZEN_SCRAPES`` successive intervals, after hits moved."""
        p = self.points
        for i in range(1, len(p) - FROZEN_SCRAPES + 1):
            if p[i - 1][1] <= p[0][1]:
                continue  # hits never moved yet: a workload without reuse is not a frozen counter
            win = p[i - 1: i + FROZEN_SCRAPES]
            if all(b[2] > a[2] and b[1] == a[1] for a, b in zip(win, win[1:], strict=False)):
                return True
        return False


def compare(sim: float | None, server: float | None, usage: float | None) -> dict[str, Any]:
    """The three rates side by side with a flag when any two differ by more than :data:`MISMATCH_PP` points."""
    vals = {"simulator": sim, "server_counters": server, "usage_cached_tokens": usage}
    have = [v for v in vals.values() if v is not None]
    spread = (max(have) - min(have)) * 100 if len(have) >= 2 else 0.0
    return {**vals, "max_difference_pp": spread, "mismatch": spread > MISMATCH_PP}
