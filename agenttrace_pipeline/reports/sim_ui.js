// Controls, result table and the capacity-sweep chart of simulation.html (uses sim.js's simulate()).
"use strict";
const $ = id => document.getElementById(id);
const NS = "http://www.w3.org/2000/svg";
function params() {
  return {capacity: +$("capacity").value, policy: $("policy").value, replicas: +$("replicas").value,
          routing: $("routing").value, rate: +$("rate").value, conc: +$("conc").value};
}
function el(tag, attrs, text) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}
function drawSweep(p) {
  const svg = $("sweep"); svg.replaceChildren();
  const W = 520, H = 260, ml = 50, mb = 36, mt = 10, pw = W - ml - 12, ph = H - mt - mb;
  const caps = [], top = Math.max(16, D.n_blocks);
  for (let i = 0; i < 12; i++) caps.push(Math.round(16 * Math.pow(top / 16, i / 11)));
  const pts = caps.map(c => [c, simulate({...p, capacity: c}).hitRate]);
  const sx = c => ml + Math.log(c / caps[0]) / Math.log(caps[caps.length - 1] / caps[0]) * pw;
  const sy = v => mt + ph - v * ph;
  svg.append(el("rect", {x: ml, y: mt, width: pw, height: ph, fill: "#fafafa", stroke: "#ccc"}));
  for (const v of [0, 0.25, 0.5, 0.75, 1]) {
    svg.append(el("line", {x1: ml, x2: ml + pw, y1: sy(v), y2: sy(v), stroke: "#eee"}));
    svg.append(el("text", {x: ml - 4, y: sy(v) + 4, "text-anchor": "end"}, (v * 100) + "%"));
  }
  for (const [c, a] of [[caps[0], "start"], [caps[Math.floor(caps.length / 2)], "middle"], [caps[caps.length - 1], "end"]])
    svg.append(el("text", {x: sx(c), y: mt + ph + 14, "text-anchor": a}, String(c)));
  svg.append(el("text", {x: ml + pw / 2, y: H - 4, "text-anchor": "middle"}, "capacity per replica (blocks, log scale)"));
  svg.append(el("polyline", {fill: "none", stroke: "#1f77b4", "stroke-width": 2,
    points: pts.map(([c, v]) => sx(c).toFixed(1) + "," + sy(v).toFixed(1)).join(" ")}));
  if (p.capacity > 0 && p.policy !== "infinite") {
    const x = sx(Math.min(Math.max(p.capacity, caps[0]), caps[caps.length - 1]));
    svg.append(el("line", {x1: x, x2: x, y1: mt, y2: mt + ph, stroke: "#d62728", "stroke-dasharray": "4,3"}));
  }
}
function update() {
  const p = params(), t = performance.now(), res = simulate(p);
  $("hit-rate").textContent = (res.hitRate * 100).toFixed(2) + "%";
  $("elapsed").textContent = (performance.now() - t).toFixed(0) + " ms";
  const rows = res.byLayer.filter(([, v]) => v !== null).map(([n, v]) => `<tr><td>${n}</td><td>${(v * 100).toFixed(2)}%</td></tr>`);
  $("layers").innerHTML = rows.join("");
  $("replica-rows").innerHTML = res.replicas.map(([n, h], k) => `<tr><td>${k}</td><td>${n}</td></tr>`).join("");
  for (const id of ["capacity", "replicas", "rate", "conc"]) $(id + "-v").textContent = $(id).value;
  drawSweep(p);
}
for (const id of ["capacity", "policy", "replicas", "routing", "rate", "conc"]) $(id).addEventListener("input", update);
update();
