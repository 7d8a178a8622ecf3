// cache_explorer.html: decode one session's compact record and draw its block map, turn by turn.
// Record "l1,l15,l2|n1,n2,...|h0,h1,..." (decimal): turn-0 blocks per layer, new blocks of each later turn
// (all L3), and the blocks each turn found cached (infinite cache, file order).
"use strict";
const E = JSON.parse(document.getElementById("explorer").textContent);
const COLOURS = {"L1": "#1f77b4", "L1.5": "#17becf", "L2": "#2ca02c", "L3": "#ff7f0e"};
const NS = "http://www.w3.org/2000/svg";
const $ = id => document.getElementById(id);
const index = new Map(E.ids.map((s, i) => [s, i]));
function decode(rec) {
  const [a, b, c] = rec.split("|").map(x => x ? x.split(",").map(v => parseInt(v, 10)) : []);
  return {turn0: a, later: b, hits: c};
}
function el(tag, attrs, text) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}
function show(i) {
  const r = decode(E.records[i]), svg = $("map"), rows = [];
  const runs = [["L1", r.turn0[0]], ["L1.5", r.turn0[1]], ["L2", r.turn0[2]]];
  for (const n of r.later) runs.push(["L3", n]);
  const turns = r.later.length + 1, total = runs.reduce((s, [, n]) => s + n, 0);
  const W = 900, rowH = Math.max(8, Math.min(22, 520 / turns)), ml = 46, scale = (W - ml - 10) / Math.max(total, 1);
  svg.setAttribute("height", turns * rowH + 30); svg.replaceChildren();
  let ctx = 0;
  for (let t = 0; t < turns; t++) {
    const y = 4 + t * rowH, upto = t === 0 ? 3 : 3 + t;
    ctx = 0;
    for (let j = 0; j < upto; j++) {
      const [layer, n] = runs[j];
      if (n) svg.append(el("rect", {x: ml + ctx * scale, y, width: n * scale, height: rowH - 2, fill: COLOURS[layer]}));
      ctx += n;
    }
    const h = r.hits[t];
    svg.append(el("rect", {x: ml + h * scale, y, width: (ctx - h) * scale, height: rowH - 2, fill: "#fff", "fill-opacity": 0.55,
                           stroke: "#d62728", "stroke-width": 1}));
    svg.append(el("text", {x: ml - 6, y: y + rowH / 2 + 3, "text-anchor": "end"}, "t" + t));
    rows.push(`<tr><td>${t}</td><td>${ctx}</td><td>${h}</td><td>${ctx - h}</td><td>${ctx ? (100 * h / ctx).toFixed(1) : 0}%</td></tr>`);
  }
  svg.append(el("text", {x: ml, y: turns * rowH + 22}, `blocks of ${E.block_size} tokens (0 … ${total})`));
  $("turns").innerHTML = rows.join("");
  $("current").textContent = E.ids[i];
  $("pos").value = i;
}
function search() {
  const q = $("q").value.trim();
  if (index.has(q)) { $("msg").textContent = ""; show(index.get(q)); return; }
  const m = E.ids.findIndex(s => s.includes(q));
  if (q && m >= 0) { $("msg").textContent = "closest match"; show(m); } else $("msg").textContent = "no session matches";
}
$("go").addEventListener("click", search);
$("q").addEventListener("keydown", e => { if (e.key === "Enter") search(); });
$("pos").addEventListener("input", () => show(+$("pos").value));
$("prev").addEventListener("click", () => show(Math.max(0, +$("pos").value - 1)));
$("next").addEventListener("click", () => show(Math.min(E.ids.length - 1, +$("pos").value + 1)));
show(0);
