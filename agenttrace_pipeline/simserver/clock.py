"""The wall-clock driver of the simulated engine: one asyncio task that runs iterations at absolute deadlines.

The engine's clock ``now_ms`` advances by each iteration's modelled length; iteration ``i`` ends at the wall
instant ``t0 + now_ms · time_scale``, and the task sleeps to that instant rather than for a duration, so
sleep overshoot never accumulates. An idle engine waits for a request and then jumps its clock to the wall
time. ``time_scale`` 0 runs iterations back to back (a throughput test of the server itself).
"""

from __future__ import annotations

import asyncio
import time

from agenttrace_pipeline.simserver.config import SimConfig
from agenttrace_pipeline.simserver.engine import Engine, Seq


class EngineLoop:
    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.engine: Engine = config.build()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._t0 = time.perf_counter()
        self.now_ms = 0.0

    def start(self) -> None:
        if self._task is None:
            self._wake = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    def _wall_ms(self) -> float:
        scale = self.config.time_scale
        return (time.perf_counter() - self._t0) * 1000 / scale if scale > 0 else self.now_ms

    def submit(self, seq: Seq) -> None:
        self.engine.submit(seq, max(self.now_ms, self._wall_ms()))
        self._wake.set()

    def abort(self, seq: Seq) -> None:
        self.engine.abort(seq, self.now_ms)

    def reset(self) -> bool:
        """Empty the prefix cache (a new pool); False while requests are in flight."""
        if not self.engine.idle:
            return False
        old = self.engine
        self.engine = self.config.build()
        self.engine.counters = old.counters
        return True

    async def _run(self) -> None:
        scale = self.config.time_scale
        while True:
            if self.engine.idle:
                self._wake.clear()
                await self._wake.wait()
                self.now_ms = max(self.now_ms, self._wall_ms())
            ms = self.engine.schedule(self.now_ms)
            self.now_ms += ms
            if scale > 0:
                delay = self._t0 + self.now_ms * scale / 1000 - time.perf_counter()
                await asyncio.sleep(delay if delay > 0 else 0)
            else:
                await asyncio.sleep(0)
            self.engine.complete(self.now_ms, ms)
