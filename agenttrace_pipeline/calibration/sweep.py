"""The calibration sweep: requests sent to a running engine to measure what the cost model needs.

* **prefill** — one request at a time (batch 1), each prompt size cold (text never sent before) then warm (the
  same prompt again, so all but its last partial block hits); one sample per request:
  ``(uncached = prompt_tokens − cached_tokens, TTFT)``;
* **decode** — ``n`` requests sent together for each concurrency level and context size (short prompts, long
  replies, so the batch decodes ``n`` wide for nearly all its steps); one sample per request:
  ``(batch n, KV fill, (end − first token) / (tokens − 1))`` — not the gaps between chunks, since a server may
  send several tokens in one chunk (vLLM does when its API process is short of CPU);
* **output lengths** — single requests with several ``max_tokens``, checking TTFT + (out − 1)·step.

Prompts are made of the replayer's block text (:func:`~agenttrace_pipeline.replay.prompts.block_text`) with
ids drawn from a per-sweep nonce, so one sweep's cold prompts are cold even on a server that served another.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from agenttrace_pipeline.replay.client import Outcome, body, send
from agenttrace_pipeline.replay.http1 import Pool
from agenttrace_pipeline.replay.prompts import block_text

SAMPLE_SCHEMA: dict[str, Any] = {
    "phase": pl.Utf8, "concurrency": pl.Int64, "prompt_tokens": pl.Int64, "cached_tokens": pl.Int64,
    "uncached_tokens": pl.Int64, "completion_tokens": pl.Int64, "ttft_ms": pl.Float64, "e2e_ms": pl.Float64,
    "step_ms": pl.Float64, "kv_fill": pl.Float64, "error": pl.Utf8,
}


@dataclass(frozen=True)
class SweepPlan:
    """What to measure. ``capacity_tokens`` (the server's KV blocks × block size) turns context into KV fill."""

    prompt_sizes: tuple[int, ...] = (32, 128, 512, 1024, 2048, 4096)
    repeats: int = 5
    concurrency: tuple[int, ...] = (1, 2, 4, 8, 16)
    decode_contexts: tuple[int, ...] = (64, 1024, 3072)  # a multi-turn replay decodes at a few thousand
    decode_tokens: int = 128
    decode_repeats: int = 3
    output_lengths: tuple[int, ...] = (8, 32, 128)
    capacity_tokens: int | None = None
    max_model_len: int = 8192

    def __post_init__(self) -> None:
        if self.repeats < 1 or not self.prompt_sizes or not self.concurrency:
            raise ValueError("a sweep needs at least one prompt size, one concurrency level and repeats >= 1")


@dataclass
class Prompts:
    """Unique prompt text: block ids from a random 40-bit nonce, 64 characters (tokens) per block."""

    nonce: int = field(default_factory=lambda: secrets.randbits(40) << 16)
    used: int = 0

    def new(self, tokens: int) -> str:
        parts, left = [], tokens
        while left > 0:
            n = min(64, left)
            parts.append(block_text(self.nonce + self.used, n))
            self.used += 1
            left -= n
        return "".join(parts)


def _sample(phase: str, n: int, o: Outcome, capacity_tokens: int | None) -> dict[str, Any]:
    u = o.usage or {}
    prompt = u.get("prompt_tokens")
    cached = (u.get("prompt_tokens_details") or {}).get("cached_tokens")
    out = u.get("completion_tokens")
    # per-token decode time from the whole decode phase: a server may send several tokens in one chunk (vLLM
    # does under load), so gaps between chunks are not steps
    step = None
    if o.first is not None and out and out > 1:
        step = (o.end - o.first) * 1e3 / (out - 1)
    fill = None
    if capacity_tokens and prompt is not None:
        fill = min(1.0, n * (prompt + (out or 0) / 2) / capacity_tokens)
    return {"phase": phase, "concurrency": n, "prompt_tokens": prompt, "cached_tokens": cached,
            "uncached_tokens": None if prompt is None else prompt - (cached or 0), "completion_tokens": out,
            "ttft_ms": None if o.first is None else (o.first - o.sent) * 1e3, "e2e_ms": (o.end - o.sent) * 1e3,
            "step_ms": step, "kv_fill": fill, "error": o.error}


async def _run(url: str, model: str, plan: SweepPlan, api_key: str | None) -> list[dict[str, Any]]:
    headers = {"authorization": f"Bearer {api_key}"} if api_key else {}
    prompts = Prompts()
    rows: list[dict[str, Any]] = []
    cap = plan.capacity_tokens
    size = max([1, *plan.concurrency])
    c = Pool(url, size, headers)
    try:
        async def one(text: str, out: int) -> Outcome:
            return await send(c, "/v1/completions", body(model, [text], out, False), False)

        await one(prompts.new(64), 4)  # the first request pays one-off costs (graph capture, allocations)
        for size in (s for s in plan.prompt_sizes if s + 8 <= plan.max_model_len):
            for _ in range(plan.repeats):
                text = prompts.new(size)
                rows.append(_sample("prefill_cold", 1, await one(text, 2), cap))
                rows.append(_sample("prefill_warm", 1, await one(text, 2), cap))
        for ctx in plan.decode_contexts:
            for n in plan.concurrency:
                if n * (ctx + plan.decode_tokens) > (cap or 1 << 62) * 0.9:
                    continue  # would preempt: the sample would measure recomputation, not decoding
                for _ in range(plan.decode_repeats):  # all start together: after the prefills, a batch of n decodes
                    outs = await asyncio.gather(*(one(prompts.new(ctx), plan.decode_tokens) for _ in range(n)))
                    rows.extend(_sample("decode", n, o, cap) for o in outs)
        for out in plan.output_lengths:
            for _ in range(plan.repeats):
                rows.append(_sample("output", 1, await one(prompts.new(512), out), cap))
    finally:
        await c.aclose()
    return rows


def run_sweep(url: str, model: str, plan: SweepPlan | None = None, *, api_key: str | None = None) -> pl.DataFrame:
    """Measure ``plan`` (default :class:`SweepPlan`) against the server at ``url`` serving ``model``; one row per
    request (:data:`SAMPLE_SCHEMA`). Raises RuntimeError when every request failed (wrong URL or model)."""
    rows = asyncio.run(_run(url.rstrip("/"), model, plan or SweepPlan(), api_key))
    df = pl.DataFrame(rows, schema=SAMPLE_SCHEMA)
    if df.filter(pl.col("error").is_null()).height == 0:
        errors = df["error"].value_counts().to_dicts()
        raise RuntimeError(f"every calibration request to {url} (model {model!r}) failed: {errors}")
    return df


def in_flight(sent: np.ndarray, first: np.ndarray, end: np.ndarray) -> np.ndarray:
    """For each request, how many requests (itself included) were decoding at the middle of its decode phase
    (between its first token and its end); all times in ms on one clock."""
    mid = (first + end) / 2
    return ((first[None, :] <= mid[:, None]) & (end[None, :] >= mid[:, None])).sum(axis=1)


def replay_samples(requests: pl.DataFrame) -> pl.DataFrame:
    """Samples from a replay's per-request records (the ``replay_requests`` columns): each successful request
    gives a prefill sample (uncached tokens, TTFT under the replay's load) and a decode sample (mean time per
    token after the first, at the batch size estimated from the requests decoding at the same time)."""
    need = {"ttft_ms", "prompt_tokens", "cached_tokens", "e2e_ms", "completion_tokens", "sent_ms", "error"}
    missing = sorted(need - set(requests.columns))
    if missing:
        raise ValueError(f"replay records lack column(s) {missing}; pass a replay_requests frame or Parquet file")
    ok = requests.filter(pl.col("error").is_null() & pl.col("ttft_ms").is_not_null() & pl.col("prompt_tokens").is_not_null()
                         & pl.col("sent_ms").is_not_null())
    sent = ok["sent_ms"].to_numpy().astype(float)
    first, end = sent + ok["ttft_ms"].to_numpy().astype(float), sent + ok["e2e_ms"].to_numpy().astype(float)
    return ok.select(
        pl.lit("replay").alias("phase"), pl.Series("concurrency", in_flight(sent, first, end), pl.Int64),
        pl.col("prompt_tokens"), pl.col("cached_tokens").fill_null(0),
        (pl.col("prompt_tokens") - pl.col("cached_tokens").fill_null(0)).alias("uncached_tokens"),
        pl.col("completion_tokens"), pl.col("ttft_ms"), pl.col("e2e_ms"),
        ((pl.col("e2e_ms") - pl.col("ttft_ms")) / (pl.col("completion_tokens") - 1).clip(1)).alias("step_ms"),
        pl.lit(0.0).alias("kv_fill"), pl.lit(None, pl.Utf8).alias("error"),
    ).cast(SAMPLE_SCHEMA)  # type: ignore[arg-type]
