// KV-cache simulation in the browser: the "simple" semantics of agenttrace_pipeline.cachesim (a prompt's
// hit tokens are the tokens of its leading run of cached blocks), requests in nominal-time order, one cache
// of CAP blocks per replica, LRU / FIFO / infinite eviction after each prompt is used, and the engine's
// routing rules (round-robin, session affinity to the least-routed replica, longest cached prefix).
"use strict";
const D = JSON.parse(document.getElementById("sample").textContent);
const LAYERS = ["L1", "L1.5", "L2", "L3"];

function schedule(rate, conc) {
  // Turn-0 time of each session: the arrival rate's spacing, and no more than `conc` sessions in flight
  // (session i waits for session i-conc to send its last turn). Service time is not modelled.
  const ns = D.sess_first.length - 1, t0 = new Float64Array(ns), end = new Float64Array(ns);
  for (let s = 0; s < ns; s++) {
    let t = rate > 0 ? s * 1000 / rate : 0;
    if (conc > 0 && s >= conc) t = Math.max(t, end[s - conc]);
    t0[s] = t;
    let d = 0;
    for (let r = D.sess_first[s] + 1; r < D.sess_first[s + 1]; r++) d += D.delay[r];
    end[s] = t + d + 1;
  }
  return t0;
}

function order(t0) {
  const n = D.base.length, time = new Float64Array(n), idx = new Array(n);
  for (let s = 0; s + 1 < D.sess_first.length; s++) {
    let t = t0[s];
    for (let r = D.sess_first[s]; r < D.sess_first[s + 1]; r++) {
      if (r > D.sess_first[s]) t += D.delay[r];
      time[r] = t;
    }
  }
  for (let i = 0; i < n; i++) idx[i] = i;
  idx.sort((a, b) => time[a] - time[b] || a - b);
  return idx;
}

function leadingRun(cache, r) {
  let tok = 0;
  for (let j = 0; j < D.n_query[r]; j++) {
    const b = D.blocks[D.base[r] + j];
    if (!cache.has(b)) break;
    tok += D.tokens[b];
  }
  return tok;
}

function simulate(p) {
  // p: {capacity (blocks per replica, 0 = infinite), policy, replicas, routing, rate, conc}
  const R = Math.max(1, p.replicas | 0), caches = [], nreq = new Array(R).fill(0), hitR = new Array(R).fill(0);
  for (let k = 0; k < R; k++) caches.push(new Map());
  const sessRep = new Map(), lay = [[0, 0, 0, 0], [0, 0, 0, 0]];
  const cap = p.policy === "infinite" || !(p.capacity > 0) ? Infinity : p.capacity;
  let rr = 0, hit = 0, total = 0;
  const least = () => { let m = 0; for (let k = 1; k < R; k++) if (nreq[k] < nreq[m]) m = k; return m; };
  for (const r of order(schedule(p.rate, p.conc))) {
    let k = 0;
    if (R > 1 && p.routing === "round-robin") k = rr++ % R;
    else if (R > 1 && p.routing === "session-affinity") {
      const s = D.session[r];
      if (!sessRep.has(s)) sessRep.set(s, least());
      k = sessRep.get(s);
    } else if (R > 1) {
      let best = -1, bestHit = -1;
      for (let q = 0; q < R; q++) {
        const h = leadingRun(caches[q], r);
        if (h > bestHit || (h === bestHit && nreq[q] < nreq[best])) { best = q; bestHit = h; }
      }
      k = best;
    }
    const c = caches[k];
    let inRun = true, h = 0;
    for (let j = 0; j < D.n_prompt[r]; j++) {
      const b = D.blocks[D.base[r] + j], t = D.tokens[b], l = D.layer[b], had = c.has(b);
      lay[0][l] += t;
      inRun = inRun && j < D.n_query[r] && had;
      if (inRun) { h += t; lay[1][l] += t; }
      if (had && p.policy === "lru") c.delete(b);
      if (!had || p.policy === "lru") c.set(b, 1);
    }
    while (c.size > cap) c.delete(c.keys().next().value);
    nreq[k] += 1; hitR[k] += h; hit += h; total += D.prompt_tokens[r];
  }
  return {hitRate: total ? hit / total : 0, byLayer: LAYERS.map((n, i) => [n, lay[0][i] ? lay[1][i] / lay[0][i] : null]),
          replicas: nreq.map((n, k) => [n, hitR[k]])};
}
window.agenttraceSimulate = simulate;
