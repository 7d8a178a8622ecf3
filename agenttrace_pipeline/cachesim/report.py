"""What a simulation run reports: hit rates (overall, by tier, layer and turn), latency percentiles,
per-replica load, and block residency; as dicts (``to_dict``) and flat table rows (``rows``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from agenttrace_pipeline.cachesim import eventloop as ev
from agenttrace_pipeline.cachesim import kernel as kn
from agenttrace_pipeline.cachesim.workload import LAYERS, Workload

if TYPE_CHECKING:
    from agenttrace_pipeline.cachesim.cost_model import EngineCost
    from agenttrace_pipeline.cachesim.simulate import Prepared

PCTS = (50, 90, 99)
TURN_BUCKETS = 32  # turns 0..30 each, then one bucket for 31+
RESIDENCY = ("lifetime", "reuse_gap", "idle_before_evict")


def _rate(hit: float, total: float) -> float:
    return float(hit / total) if total else 0.0


def percentiles(x: np.ndarray) -> dict[str, float]:
    """mean and p50/p90/p99 of ``x`` (NaN-free); zeros when empty."""
    if x.size == 0:
        return {"mean": 0.0, **{f"p{p}": 0.0 for p in PCTS}}
    q = np.percentile(x, PCTS)
    return {"mean": float(x.mean()), **{f"p{p}": float(v) for p, v in zip(PCTS, q, strict=True)}}


def _hist_summary(counts: np.ndarray) -> dict[str, Any]:
    """Log2 histogram (bin i holds [2^(i-1), 2^i) ms; bin 0 < 1 ms) and its median bin's upper edge."""
    total = int(counts.sum())
    median = 0.0
    if total:
        median = float(2.0 ** int(np.searchsorted(np.cumsum(counts), (total + 1) / 2)))
    last = int(np.flatnonzero(counts)[-1]) + 1 if total else 0
    return {"count": total, "median_upper_ms": median, "log2_ms_counts": counts[:last].tolist()}


@dataclass
class RunResult:
    params: dict[str, Any]
    requests: int
    prompt_tokens: int
    hit_tokens: int
    host_hit_tokens: int
    by_layer: dict[str, dict[str, float]]
    by_turn: list[dict[str, float]]
    latency: dict[str, dict[str, float]]
    replicas: list[dict[str, float]]
    residency: dict[str, dict[str, Any]]
    evictions: int
    overcommits: int
    wall_s: float
    per_request: dict[str, np.ndarray] = field(repr=False, default_factory=dict)

    @property
    def policy(self) -> str:
        return self.params["policy"]

    @property
    def capacity(self) -> int | None:
        return self.params["capacity"]

    @property
    def hit_rate(self) -> float:
        """Token hit rate over both tiers."""
        return _rate(self.hit_tokens + self.host_hit_tokens, self.prompt_tokens)

    @property
    def device_hit_rate(self) -> float:
        return _rate(self.hit_tokens, self.prompt_tokens)

    @property
    def host_hit_rate(self) -> float:
        return _rate(self.host_hit_tokens, self.prompt_tokens)

    @property
    def imbalance(self) -> float:
        """Requests on the busiest replica over the mean (1.0 = perfectly even)."""
        n = np.array([r["requests"] for r in self.replicas], float)
        return float(n.max() / n.mean()) if n.size and n.mean() else 1.0

    def to_dict(self) -> dict[str, Any]:
        return {**self.params, "requests": self.requests, "prompt_tokens": self.prompt_tokens,
                "hit_tokens": self.hit_tokens, "host_hit_tokens": self.host_hit_tokens, "hit_rate": self.hit_rate,
                "device_hit_rate": self.device_hit_rate, "host_hit_rate": self.host_hit_rate,
                "by_layer": self.by_layer, "by_turn": self.by_turn, "latency": self.latency,
                "replicas": self.replicas, "imbalance": self.imbalance, "residency": self.residency,
                "evictions": self.evictions, "overcommits": self.overcommits, "wall_s": self.wall_s}

    def row(self) -> dict[str, Any]:
        """One flat table row: parameters, hit rates, TTFT/ITL percentiles, imbalance."""
        lat = {f"{k}_{p}": v for k, d in self.latency.items() for p, v in d.items() if p in ("p50", "p99")}
        return {**self.params, "hit_rate": self.hit_rate, "device_hit_rate": self.device_hit_rate,
                "host_hit_rate": self.host_hit_rate, **lat, "imbalance": self.imbalance, "evictions": self.evictions}


@dataclass
class SimReport:
    workload: Workload = field(repr=False)
    semantics: str
    runs: list[RunResult]
    theoretical: RunResult | None

    def to_dict(self) -> dict[str, Any]:
        return {"semantics": self.semantics, "requests": self.workload.n_requests,
                "sessions": self.workload.n_sessions, "layer_source": self.workload.layer_source,
                "theoretical_hit_rate": self.theoretical.hit_rate if self.theoretical else None,
                "runs": [r.to_dict() for r in self.runs],
                "theoretical": self.theoretical.to_dict() if self.theoretical else None}

    def rows(self) -> list[dict[str, Any]]:
        """One row per run, with the theoretical (infinite-cache) hit rate beside each."""
        theo = self.theoretical.hit_rate if self.theoretical else None
        return [{**r.row(), "theoretical_hit_rate": theo} for r in self.runs]

    def layer_rows(self) -> list[dict[str, Any]]:
        """One row per (run, layer): prompt and hit tokens, hit rate; theoretical first when present."""
        runs = ([self.theoretical] if self.theoretical else []) + self.runs
        return [{"policy": r.policy, "capacity": r.capacity, "layer": name, **d}
                for r in runs for name, d in r.by_layer.items()]


def _by_turn(prep: Prepared, hit: np.ndarray) -> list[dict[str, float]]:
    t = np.minimum(prep.workload.turn, TURN_BUCKETS - 1)
    n = np.bincount(t, minlength=TURN_BUCKETS)
    q = np.bincount(t, prep.streams.prompt_tokens, TURN_BUCKETS)
    h = np.bincount(t, hit, TURN_BUCKETS)
    return [{"turn": int(i), "last_bucket": i == TURN_BUCKETS - 1, "requests": int(n[i]),
             "prompt_tokens": float(q[i]), "hit_tokens": float(h[i]), "hit_rate": _rate(h[i], q[i])}
            for i in range(TURN_BUCKETS) if n[i]]


def _latency(prep: Prepared, out: np.ndarray) -> dict[str, dict[str, float]]:
    w = prep.workload
    ttft = out[ev.O_FIRST] - out[ev.O_ARR]
    e2e = out[ev.O_DONE] - out[ev.O_ARR]
    if w.n_requests:
        first, last = w.sess_first[:-1], w.sess_first[1:] - 1
        session = out[ev.O_DONE, last] - out[ev.O_ARR, first]
    else:
        session = np.zeros(0)
    return {"ttft_ms": percentiles(ttft), "itl_ms": percentiles(out[ev.O_ITL]), "e2e_ms": percentiles(e2e),
            "session_ms": percentiles(session)}


def summarise(prep: Prepared, out: np.ndarray, lay: np.ndarray, rep: np.ndarray, st, cp: np.ndarray,
              eng: EngineCost, params: dict[str, Any], wall: float) -> RunResult:
    """Fold the kernel's output arrays into a :class:`RunResult`."""
    hdev, hhost = out[ev.O_HDEV], out[ev.O_HHOST]
    ptok = prep.streams.prompt_tokens
    layers = {name: {"prompt_tokens": float(lay[0, i]), "hit_tokens": float(lay[1, i]),
                     "host_hit_tokens": float(lay[2, i]), "hit_rate": _rate(lay[1, i] + lay[2, i], lay[0, i])}
              for i, name in enumerate(LAYERS)}
    k = out[ev.O_REP].astype(np.int64)
    nrep = rep.shape[0]
    rep_hit = np.bincount(k, hdev + hhost, nrep)
    rep_tok = np.bincount(k, ptok, nrep)
    replicas = [{"replica": i, "requests": int(rep[i, ev.RP_NREQ]), "hit_rate": _rate(rep_hit[i], rep_tok[i]),
                 "prefill_busy_ms": float(rep[i, ev.RP_BUSY])} for i in range(nrep)]
    hist = st[5]
    residency = {name: _hist_summary(hist[i]) for i, name in enumerate(RESIDENCY)}
    per_request = {"replica": k, "hit_tokens": hdev, "host_hit_tokens": hhost,
                   "ttft_ms": out[ev.O_FIRST] - out[ev.O_ARR], "itl_ms": out[ev.O_ITL], "start_ms": out[ev.O_ARR],
                   "end_ms": out[ev.O_DONE]}
    return RunResult(dict(params), prep.workload.n_requests, int(ptok.sum()),
                     int(hdev.sum()), int(hhost.sum()), layers, _by_turn(prep, hdev + hhost), _latency(prep, out),
                     replicas, residency, int(hist[kn.H_LIFE].sum()), int(st[4][:, kn.R_OVER].sum()), wall,
                     per_request)
