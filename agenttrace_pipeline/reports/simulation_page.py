"""``simulation.html``: a KV-cache simulation that runs in the browser on a bounded sample of sessions.

The sample (the first sessions, at most :data:`SAMPLE_REQUESTS` requests) is embedded as the block streams
of :func:`agenttrace_pipeline.cachesim.blocks.build_blocks` (simple semantics), so the page's JavaScript
walks exactly the blocks the Python engine walks. :func:`reference_hit_rate` runs the Python engine on the
same sample and settings: the browser tests check that both agree within 1 %.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from agenttrace_pipeline.cachesim.simulate import Prepared, prepare, run_one
from agenttrace_pipeline.reports import html as H
from agenttrace_pipeline.reports.data import RunData
from agenttrace_pipeline.reports.sample import first_sessions, sessions_within

SAMPLE_REQUESTS = 2_500
SAMPLE_SESSIONS = 200
HERE = Path(__file__).resolve().parent


def sample(data: RunData) -> Prepared:
    """The embedded sample, laid out for the Python engine."""
    w = data.workload
    return prepare(first_sessions(w, sessions_within(w, SAMPLE_REQUESTS, SAMPLE_SESSIONS)), "simple")


def payload(prep: Prepared) -> dict[str, Any]:
    """What the page's JavaScript reads: block streams, block tokens and layers, per-request fields."""
    s, w = prep.streams, prep.workload
    return {"blocks": s.blocks, "tokens": s.tokens, "layer": s.layer, "base": s.base, "n_prompt": s.n_prompt,
            "n_query": s.n_query, "prompt_tokens": s.prompt_tokens, "session": w.session, "delay": w.delay,
            "sess_first": w.sess_first, "n_blocks": s.n_blocks}


def schedule(prep: Prepared, rate: float, conc: int) -> np.ndarray:
    """Turn-0 times (ms) the page uses: ``rate`` sessions/s (0: all at once), at most ``conc`` sessions in flight
    (0: no cap); session ``i`` waits for session ``i - conc`` to send its last turn, plus 1 ms."""
    w = prep.workload
    n = w.n_sessions
    total = np.add.reduceat(w.delay, w.sess_first[:-1]) if n else np.zeros(0)
    t0, end = np.zeros(n), np.zeros(n)
    for s in range(n):
        t = s * 1000.0 / rate if rate > 0 else 0.0
        if conc > 0 and s >= conc:
            t = max(t, end[s - conc])
        t0[s], end[s] = t, t + total[s] + 1.0
    return t0


def reference_hit_rate(prep: Prepared, *, capacity: int, policy: str, replicas: int = 1,
                       routing: str = "round-robin", rate: float = 0.0, conc: int = 1) -> float:
    """The Python engine's hit rate for the page's settings (``nominal`` load mode on :func:`schedule`)."""
    w = prep.workload
    ts = np.where(w.turn == 0, schedule(prep, rate, conc)[w.session], np.nan)
    p = prepare(dataclasses.replace(w, timestamp=ts), "simple")
    cap = None if policy == "infinite" or capacity <= 0 else capacity
    return run_one(p, policy=policy, capacity=cap, replicas=replicas, routing=routing, load="nominal",
                   residency=False).hit_rate


def _controls(n_blocks: int) -> str:
    top = max(16, min(n_blocks, 8192))  # the curve is flat long before every block fits
    cap0 = max(16, top // 8)

    def sel(id_: str, opts: list[str]) -> str:
        return f'<select id="{id_}">' + "".join(f'<option value="{o}">{o}</option>' for o in opts) + "</select>"

    return (f'<div class="card"><label>capacity per replica <input id="capacity" type="range" min="16" '
            f'max="{top}" step="8" value="{cap0}"> <b id="capacity-v"></b> blocks</label>'
            f'<label>policy {sel("policy", ["lru", "fifo", "infinite"])}</label><br>'
            f'<label>replicas <input id="replicas" type="range" min="1" max="8" value="1"> <b id="replicas-v"></b></label>'
            f'<label>routing {sel("routing", ["round-robin", "session-affinity", "prefix"])}</label><br>'
            f'<label>arrival rate <input id="rate" type="range" min="0" max="50" value="0"> <b id="rate-v"></b> '
            f'sessions/s (0: no spacing)</label>'
            f'<label>sessions in flight <input id="conc" type="range" min="1" max="64" value="1"> <b id="conc-v"></b>'
            f"</label></div>")


def render(data: RunData, prep: Prepared | None = None) -> str:
    """The whole simulation page for ``data`` (``prep``: the sample, when already computed)."""
    prep = prep or sample(data)
    w = prep.workload
    body = (f'<p class="note">Runs in this page on the first {w.n_sessions:,} sessions ({w.n_requests:,} requests, '
            f"{prep.streams.n_blocks:,} distinct blocks) of the dataset's {data.workload.n_sessions:,}. Semantics: "
            f"a prompt (the session's whole context so far) hits the tokens of its leading run of cached blocks. "
            f"Turns are ordered by their nominal times: sessions start at the arrival rate, at most N in flight, "
            f"later turns after their recorded delay (service time is not modelled). The Python engine "
            f"(<code>cachesim.simulate</code>, load mode <code>nominal</code>) gives the same hit rates.</p>"
            + _controls(prep.streams.n_blocks)
            + '<div class="grid"><div class="card"><h3>Result</h3><p>hit rate <b data-testid="hit-rate" id="hit-rate">'
            '</b> <span class="note">(computed in <span id="elapsed"></span>)</span></p>'
            '<table><thead><tr><th>layer</th><th>hit rate</th></tr></thead><tbody id="layers"></tbody></table>'
            '<table><thead><tr><th>replica</th><th>requests</th></tr></thead><tbody id="replica-rows"></tbody>'
            '</table></div><div class="card"><h3>Hit rate against capacity (these settings)</h3>'
            '<svg id="sweep" width="520" height="260" viewBox="0 0 520 260" role="img"></svg></div></div>'
            f'<script id="sample" type="application/json">{H.embed_json(payload(prep))}</script>')
    script = (HERE / "sim.js").read_text() + "\n" + (HERE / "sim_ui.js").read_text()
    return H.page(f"KV-cache simulation: {data.config_name}", data.run_dir.name, body, script)
