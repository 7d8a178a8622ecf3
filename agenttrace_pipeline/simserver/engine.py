"""The simulated engine's scheduler: iteration-level continuous batching over a :class:`BlockPool`.

One iteration (:meth:`Engine.schedule`, then :meth:`Engine.complete` at its end) does what a vLLM step does:

* **admission** — waiting requests join in arrival order while fewer than ``max_seqs`` run and the blocks
  they hold would stay under ``(1 - watermark)`` of the pool (one request is always admitted into an empty
  engine); an admitted prompt's leading run of cached full blocks is looked up and pinned (at most ``n-1``
  prompt tokens can hit), the rest must be prefilled;
* **batch** — every decoding request takes one token of the ``max_batch_tokens`` budget, and prefilling ones
  take what is left in admission order (chunked prefill: a long prompt spans several iterations);
* **preemption** — when the running requests' blocks (prompt plus generated tokens) outgrow the pool, the
  request admitted last is preempted by recompute: its pins are dropped and it waits at the head of the
  queue, to be looked up again and prefill its prompt and the tokens generated so far;
* **occupancy** — as in vLLM, a running request holds a block for every ``block_tokens`` of the tokens it has
  computed by the end of the iteration (its prompt's partly filled last block and its generated tokens'
  blocks too, not only the named full prompt blocks), so cached blocks are evicted to make room for them;
  running requests take their blocks before waiting ones are looked up. At the end only prompt + reply − 1
  tokens have keys and values (the last token is sampled, never fed back), so the full blocks of those are
  the ones cached;
* **time** — ``prefill_ms(T, A)`` for the ``T`` uncached tokens of the step (``A``: each chunk's tokens times
  the tokens before it plus half the chunk) plus ``decode_ms(batch, usage, K)`` when it decodes (``K``: the
  decoding requests' context units, ``(prompt and generated tokens / 1000)^dc_ctx_exp`` each)
  (:class:`~agenttrace_pipeline.cachesim.cost_model.EngineCost`, shared with the offline simulation); cached
  tokens cost nothing.

The clock is the caller's: the HTTP server sleeps to each iteration's absolute deadline, the virtual-clock
replayer just adds the duration. :meth:`Engine.decode_run` lets a virtual clock jump over a run of identical
decode-only iterations at once.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from agenttrace_pipeline.cachesim.cost_model import EngineCost
from agenttrace_pipeline.simserver.pool import BlockPool
from agenttrace_pipeline.simserver.tokens import ROOT, block_hashes

# sink(seq, new tokens, end of the iteration (ms), iteration length (ms), finished)
Sink = Callable[["Seq", int, float, float, bool], None]


class QueueFull(Exception):
    """The waiting queue holds ``max_waiting`` requests already."""


@dataclass(eq=False)
class Seq:
    """One request inside the engine; ``tokens`` are its prompt's token ids, ``reply`` the text it will generate.

    A caller that knows the names of the prompt's leading full blocks (a later turn whose prompt starts with the
    previous turn's prompt and reply) may pass them as ``hashes`` and their dense numbers as ``blocks`` (the
    ``stream_hashes``/``stream_blocks`` of that finished turn): only the blocks after them are hashed. After
    :meth:`Engine._finish`, ``stream_hashes``/``stream_blocks`` name the full blocks of prompt + reply."""

    rid: int
    tokens: bytes
    max_tokens: int
    reply: str
    sink: Sink | None = None
    arrival_ms: float = 0.0
    hashes: list[int] = field(default_factory=list)
    blocks: np.ndarray | None = None
    cached_tokens: int = 0
    todo: int = 0
    generated: int = 0
    admitted: bool = False
    first_ms: float = float("nan")
    done_ms: float = float("nan")
    preemptions: int = 0
    unnamed: int = 0  # blocks held beyond the named full prompt blocks (partial last block, generated tokens)
    stream_hashes: list[int] = field(default_factory=list)
    stream_blocks: np.ndarray | None = None
    n_prompt: int = field(init=False)  # len(tokens), kept as a plain attribute: it is read every iteration

    def __post_init__(self) -> None:
        self.n_prompt = len(self.tokens)


@dataclass
class Counters:
    """Totals the ``/metrics`` endpoint exposes (tokens unless named otherwise)."""

    queries: int = 0
    hits: int = 0
    prompt: int = 0
    generation: int = 0
    requests: int = 0
    preemptions: int = 0


class Engine:
    """Scheduler over ``pool`` timed by ``cost``; see the module docstring for one iteration."""

    def __init__(self, cost: EngineCost, pool: BlockPool, *, max_seqs: int = 256, max_batch_tokens: int | None = None,
                 watermark: float = 0.01, max_waiting: int | None = None) -> None:
        if max_seqs < 1:
            raise ValueError(f"max_seqs must be >= 1, got {max_seqs}")
        if not 0 <= watermark < 1:
            raise ValueError(f"watermark must be in [0, 1), got {watermark}")
        self.cost, self.pool = cost, pool
        self.max_seqs = max_seqs
        self.budget = int(max_batch_tokens or cost.max_batch_tokens or 1 << 30)
        self.watermark = watermark
        self.max_waiting = max_waiting
        self.waiting: deque[Seq] = deque()
        self.running: list[Seq] = []
        self.counters = Counters()
        self._plan: list[tuple[Seq, int]] = []
        self._decode: list[Seq] = []

    # -- admission -------------------------------------------------------------------------------------
    def submit(self, seq: Seq, now_ms: float) -> None:
        """Queue ``seq``; raises :class:`QueueFull` when ``max_waiting`` requests wait already."""
        if self.max_waiting is not None and len(self.waiting) >= self.max_waiting:
            raise QueueFull(f"{len(self.waiting)} requests waiting")
        seq.arrival_ms = now_ms
        known = seq.hashes
        if known and len(known) > len(seq.tokens) // self.pool.block_tokens:
            raise ValueError(f"request {seq.rid}: {len(known)} known block hashes for a {len(seq.tokens)}-token prompt")
        seq.hashes = known + block_hashes(seq.tokens, self.pool.block_tokens, len(known), known[-1] if known else ROOT)
        self.waiting.append(seq)

    def _held(self, seq: Seq, extra: int = 0) -> int:
        return -(-(seq.n_prompt + seq.generated + extra) // self.pool.block_tokens)

    def _held_total(self) -> int:
        """Blocks the running requests hold once each has one more token (``_held(s, 1)`` summed, inlined)."""
        bt = self.pool.block_tokens
        return sum((s.n_prompt + s.generated + bt) // bt for s in self.running)

    def _admit(self, now_ms: float) -> None:
        if not self.waiting or len(self.running) >= self.max_seqs:
            return
        cap = self.pool.capacity
        held = self._held_total()
        while self.waiting and len(self.running) < self.max_seqs:
            seq = self.waiting[0]
            need = self._held(seq, 1)
            if cap is not None and self.running and held + need > cap * (1 - self.watermark):
                return
            self.waiting.popleft()
            held += need
            seq.blocks = self.pool.dense(seq.hashes, seq.blocks)
            n_query = min(len(seq.hashes), (seq.n_prompt - 1) // self.pool.block_tokens)
            hit = self.pool.admit(seq.blocks, n_query, now_ms, seq.rid)
            seq.cached_tokens = hit * self.pool.block_tokens
            seq.todo = seq.n_prompt + seq.generated - seq.cached_tokens
            c = self.counters
            c.queries += seq.n_prompt
            c.hits += seq.cached_tokens
            if not seq.admitted:
                c.prompt += seq.n_prompt
                seq.admitted = True
            self.running.append(seq)

    def _preempt(self, now_ms: float) -> None:
        cap = self.pool.capacity
        if cap is None:
            return
        held = self._held_total()
        while len(self.running) > 1 and held > cap:
            seq = self.running.pop()
            held -= self._held(seq, 1)
            assert seq.blocks is not None
            self._drop_unnamed(seq, now_ms)
            self.pool.release(seq.blocks, now_ms)
            seq.preemptions += 1
            self.counters.preemptions += 1
            self.waiting.appendleft(seq)

    def abort(self, seq: Seq, now_ms: float) -> None:
        """Drop ``seq`` (its client went away): out of the queue, or out of the batch with its pins released."""
        if seq in self.waiting:
            self.waiting.remove(seq)
        elif seq in self.running:
            self.running.remove(seq)
            assert seq.blocks is not None
            self._drop_unnamed(seq, now_ms)
            self.pool.release(seq.blocks, now_ms)
        self._plan = [(s, t) for s, t in self._plan if s is not seq]
        self._decode = [s for s in self._decode if s is not seq]

    # -- one iteration -----------------------------------------------------------------------------------
    @property
    def idle(self) -> bool:
        return not self.running and not self.waiting

    def schedule(self, now_ms: float) -> float:
        """Plan the iteration starting at ``now_ms``; returns its length in ms (0 when there is nothing to do)."""
        count = self.pool.capacity is not None  # an unbounded pool evicts nothing: no need to count
        if count and self.running and self.waiting:
            self._occupy(self._takes(), now_ms)  # running requests grow before waiting ones are looked up
        self._admit(now_ms)
        self._preempt(now_ms)
        self._decode = [s for s in self.running if s.todo == 0]
        takes = self._takes()
        self._plan = [(s, t) for s, t in zip(self.running, takes, strict=True) if t]
        tokens, attended = 0, 0.0
        for s, take in self._plan:
            tokens += take
            attended += take * (s.n_prompt + s.generated - s.todo + take / 2)
        if count:
            self._occupy(takes, now_ms)
        cost = self.cost
        ms = float(cost.prefill_ms(tokens, attended)) if self._plan else 0.0
        if self._decode:
            g = cost.dc_ctx_exp
            ctx = sum(((s.n_prompt + s.generated) / 1e3) ** g for s in self._decode) if cost.dc_ctx else 0.0
            ms += float(cost.decode_ms(len(self._decode), self.pool.usage, ctx))
        return ms

    def _takes(self) -> list[int]:
        """Prefill tokens each running request gets this iteration: decoding ones take one token of the budget
        each, prefilling ones the rest in admission order."""
        budget = self.budget - sum(1 for s in self.running if s.todo == 0)
        out = []
        for s in self.running:
            take = min(s.todo, budget) if s.todo and budget > 0 else 0
            budget -= take
            out.append(take)
        return out

    def _occupy(self, takes: list[int], now_ms: float) -> None:
        """Bring each running request's unnamed blocks to what it holds at the end of this iteration (every
        token computed so far plus ``takes``) and make room for them in the pool."""
        self._hold_tokens(((s, s.n_prompt + s.generated - s.todo + t) for s, t in zip(self.running, takes, strict=True)),
                          now_ms)

    def _hold_tokens(self, held: Iterable[tuple[Seq, int]], now_ms: float) -> None:
        """Set each request's unnamed blocks for the tokens it holds (``(seq, tokens)`` pairs); evict for growth."""
        bt = self.pool.block_tokens
        delta = 0
        for s, tokens in held:
            assert s.blocks is not None
            unnamed = max(0, -(-tokens // bt) - s.blocks.size)
            delta += unnamed - s.unnamed
            s.unnamed = unnamed
        if delta:
            self.pool.hold(delta, now_ms)

    def _drop_unnamed(self, s: Seq, now_ms: float) -> None:
        if s.unnamed:
            self.pool.hold(-s.unnamed, now_ms)
            s.unnamed = 0

    def decode_run(self) -> int:
        """How many identical decode-only iterations may be taken at once from the planned one (>= 1)."""
        if self._plan or not self._decode or len(self._decode) != len(self.running) or self.cost.dc_ctx:
            return 1  # (with a context term every step is longer than the one before)
        left = min(s.max_tokens - s.generated for s in self._decode)
        cap = self.pool.capacity
        if cap is None or left <= 1:
            return max(1, left)
        # a run of n iterations (the planned one first) is exact while none of them would preempt (the blocks held
        # with n more tokens each stay within the capacity) and, when the KV fill prices a decode step, while
        # the blocks its later iterations take (n - 1 more tokens each) evict nothing; both hold up to some n
        # and fail after it: bisect
        bt = self.pool.block_tokens
        x = np.fromiter((s.n_prompt + s.generated + bt - 1 for s in self.running), np.int64, len(self.running))
        room = cap - self.pool.used + int((x // bt).sum()) if (self.cost.dc1 or self.cost.dc2) else None

        def fits(n: int) -> bool:
            return int(((x + n) // bt).sum()) <= cap and (room is None or int(((x + n - 1) // bt).sum()) <= room)

        lo, hi = 1, left
        if fits(hi):
            return hi
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (mid, hi) if fits(mid) else (lo, mid)
        return lo

    def complete(self, now_ms: float, step_ms: float = 0.0, iterations: int = 1) -> None:
        """Apply the planned iteration (repeated ``iterations`` times for a decode run) ending at ``now_ms``."""
        for s, take in self._plan:
            s.todo -= take
            if s.todo == 0:
                if s.generated == 0:
                    s.first_ms = now_ms
                self._emit(s, 1, now_ms, step_ms)
        if iterations > 1 and self.pool.capacity is not None:
            # a run's later iterations took blocks too (evicting nothing a lookup could see before now): the last
            # iteration of each request's part of the run held its tokens so far and n - 1 more
            self._hold_tokens(((s, s.n_prompt + s.generated + min(iterations, s.max_tokens - s.generated) - 1)
                               for s in self._decode), now_ms)
        made = 0
        for s in self._decode:  # _emit inlined: this loop runs once per running request and iteration
            n = min(iterations, s.max_tokens - s.generated)
            s.generated += n
            made += n
            done = s.generated >= s.max_tokens
            if done:
                self._finish(s, now_ms)
            if s.sink is not None:
                s.sink(s, n, now_ms, step_ms, done)
        self.counters.generation += made
        self._plan, self._decode = [], []

    def _emit(self, s: Seq, n: int, now_ms: float, step_ms: float) -> None:
        n = min(n, max(s.max_tokens - s.generated, 0))
        s.generated += n
        self.counters.generation += n
        done = s.generated >= s.max_tokens
        if done:
            self._finish(s, now_ms)
        if s.sink is not None:
            s.sink(s, n, now_ms, step_ms, done)

    def _finish(self, s: Seq, now_ms: float) -> None:
        assert s.blocks is not None
        s.done_ms = now_ms
        bt = self.pool.block_tokens
        full = len(s.hashes)
        stream = s.tokens + s.reply.encode()[:-1]  # the last token is sampled, never computed: no keys/values
        self._drop_unnamed(s, now_ms)
        tail = block_hashes(stream, bt, full, s.hashes[-1] if full else ROOT)
        blocks = np.concatenate([s.blocks, self.pool.dense(tail)]) if tail else s.blocks
        s.stream_hashes, s.stream_blocks = s.hashes + tail, blocks
        self.pool.finish(blocks, full, now_ms, s.rid)
        self.running.remove(s)
        self.counters.requests += 1
