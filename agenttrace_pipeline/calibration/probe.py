"""A controlled probe of how an engine mixes prefill into decoding, to run against a real server and against
``serve-sim`` with a preset and compare (``scripts/mixed_steps.py``).

The calibration sweep measures prefill one request at a time and decode in groups that start together; a replay
mixes them: new requests arrive while others decode, and every prefill step holds up the decoding batch. This
probe sets that up under control. For each batch size ``n`` and arrival period: ``n`` background requests
(``context`` new tokens each, ``decode_tokens`` out) decode while foreground requests arrive every ``period``
ms, each a cached shared prefix of ``context`` tokens plus ``new_tokens`` new ones, 2 tokens out (``None``: no
arrivals, the batch alone). Per setting it reports the background requests' median time per output token and
end-to-end time, and the arrivals' median TTFT. The same settings against the simulated engine say whether its
cost model composes prefill and decode as the engine does, apart from the traffic a replay adds.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from agenttrace_pipeline.calibration.sweep import Prompts
from agenttrace_pipeline.replay.client import Outcome, body, send
from agenttrace_pipeline.replay.http1 import Pool

PROBE_SCHEMA: dict[str, Any] = {
    "batch": pl.Int64, "period_ms": pl.Float64, "background_tpot_ms": pl.Float64, "background_e2e_ms": pl.Float64,
    "arrival_ttft_ms": pl.Float64, "arrivals": pl.Int64, "errors": pl.Int64,
}


@dataclass(frozen=True)
class ProbePlan:
    batches: tuple[int, ...] = (2, 4)
    periods_ms: tuple[float | None, ...] = (None, 150.0, 60.0)
    context: int = 2048
    new_tokens: int = 384
    decode_tokens: int = 160
    repeats: int = 3

    def __post_init__(self) -> None:
        if not self.batches or min(self.batches) < 1 or self.repeats < 1 or self.decode_tokens < 2:
            raise ValueError("a probe needs batch sizes >= 1, repeats >= 1 and decode_tokens >= 2")
        if any(p is not None and p <= 0 for p in self.periods_ms):
            raise ValueError(f"arrival periods must be > 0 ms (or None for no arrivals), got {self.periods_ms}")


async def _run(url: str, model: str, plan: ProbePlan, api_key: str | None) -> list[dict[str, Any]]:
    headers = {"authorization": f"Bearer {api_key}"} if api_key else {}
    prompts = Prompts()
    pool = Pool(url, max(plan.batches) + 32, headers)

    def one(text: str, out: int) -> asyncio.Future[Outcome]:
        return asyncio.ensure_future(send(pool, "/v1/completions", body(model, [text], out, False), False))

    rows = []
    try:
        await one(prompts.new(64), 4)  # one-off costs (graph capture, allocations) before anything is timed
        for n in plan.batches:
            for period in plan.periods_ms:
                tpot, e2e, ttft, arrivals, errors = [], [], [], 0, 0
                for _ in range(plan.repeats):
                    prefix = prompts.new(plan.context)
                    await one(prefix, 2)  # the arrivals' shared prefix, cached from here on
                    background = [one(prompts.new(plan.context), plan.decode_tokens) for _ in range(n)]
                    fore = []
                    if period is not None:
                        while not all(b.done() for b in background):
                            fore.append(one(prefix + prompts.new(plan.new_tokens), 2))
                            await asyncio.sleep(period / 1e3)
                    for o in await asyncio.gather(*background):
                        if o.error is None and o.first is not None:
                            tpot.append((o.end - o.first) * 1e3 / (plan.decode_tokens - 1))
                            e2e.append((o.end - o.sent) * 1e3)
                        else:
                            errors += 1
                    for o in await asyncio.gather(*fore):
                        arrivals += 1
                        if o.error is None and o.first is not None:
                            ttft.append((o.first - o.sent) * 1e3)
                        else:
                            errors += 1
                med = lambda v: float(np.median(v)) if v else None  # noqa: E731
                rows.append({"batch": n, "period_ms": period, "background_tpot_ms": med(tpot),
                             "background_e2e_ms": med(e2e), "arrival_ttft_ms": med(ttft), "arrivals": arrivals,
                             "errors": errors})
    finally:
        await pool.aclose()
    return rows


def run_probe(url: str, model: str, plan: ProbePlan | None = None, *, api_key: str | None = None) -> pl.DataFrame:
    """Run ``plan`` against the server at ``url``; one row per (batch, period). Raises RuntimeError when no
    background request succeeded (wrong URL or model)."""
    df = pl.DataFrame(asyncio.run(_run(url.rstrip("/"), model, plan or ProbePlan(), api_key)), schema=PROBE_SCHEMA)
    if df["background_tpot_ms"].is_null().all():
        raise RuntimeError(f"no probe request to {url} (model {model!r}) succeeded: {int(df['errors'].sum())} errors")
    return df
