"""``cache_explorer.html``: the block map of any session, turn by turn, coloured by prefix layer, with the
blocks each turn found cached (infinite cache, file order) and search by session id.

Every session is embedded, compactly: its id and one record ``"l1,l15,l2|n1,n2,…|h0,h1,…"`` (turn-0 blocks
per layer, new blocks per later turn, cached leading blocks per turn); the page rebuilds the map from it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from agenttrace_pipeline.reports import html as H
from agenttrace_pipeline.reports.data import RunData, hit_blocks

HERE = Path(__file__).resolve().parent


def records(data: RunData) -> list[str]:
    """One compact record per session (see the module docstring)."""
    w = data.workload
    n_ids = np.diff(w.ids_off)
    first = w.sess_first[:-1]
    row_of = np.repeat(np.arange(w.n_requests), n_ids)
    t0 = w.turn[row_of] == 0
    per_layer = np.zeros((w.n_requests, 3), np.int64)
    np.add.at(per_layer, (row_of[t0], np.minimum(w.id_layer[t0], 2)), 1)
    hits = hit_blocks(data).tolist()
    new = n_ids.tolist()
    heads = per_layer[first].tolist()
    bounds = w.sess_first.tolist()
    out = []
    for s, (a, b) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
        h = heads[s]
        out.append(f"{h[0]},{h[1]},{h[2]}|{','.join(map(str, new[a + 1:b]))}|{','.join(map(str, hits[a:b]))}")
    return out


def render(data: RunData) -> str:
    """The whole explorer page."""
    w = data.workload
    blob = {"ids": list(w.session_names), "records": records(data), "block_size": w.block_size}
    example = w.session_names[0] if w.n_sessions else ""
    legend = H.legend(list(H.LAYER_COLOURS), list(H.LAYER_COLOURS.values()))
    body = (f'<p class="note">{w.n_sessions:,} sessions. Each row is one turn\'s prompt (the whole context so far), '
            f"one cell per block; the red-outlined, faded part is what the turn had to prefill (not in an infinite "
            f"cache after the sessions before it in file order), the solid part was cached.</p>"
            f'<div class="card"><label>session id <input id="q" size="32" placeholder="e.g. {H.esc(example)}">'
            f'</label><button id="go">find</button> <span id="msg" class="note"></span><br>'
            f'<button id="prev">◀</button> <input id="pos" type="range" min="0" max="{max(w.n_sessions - 1, 0)}" value="0">'
            f'<button id="next">▶</button> showing <b id="current" data-testid="current"></b></div>'
            f'<div class="card">{legend}<svg id="map" width="900" height="100" role="img"></svg></div>'
            '<div class="card"><table data-testid="turn-table"><thead><tr><th>turn</th><th>prompt blocks</th>'
            '<th>cached</th><th>new</th><th>hit</th></tr></thead><tbody id="turns"></tbody></table></div>'
            f'<script id="explorer" type="application/json">{H.embed_json(blob)}</script>')
    return H.page(f"Cache explorer: {data.config_name}", data.run_dir.name, body, (HERE / "explorer.js").read_text())
