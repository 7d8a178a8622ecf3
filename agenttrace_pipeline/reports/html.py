"""Page shell shared by the three dataset pages: escaping, embedded JSON, styles, and an SVG line chart.

Everything a page needs is inline (no CDN, no fonts, no external script) so a page opened from disk works
offline. Untrusted strings (session ids, config names) go through :func:`esc` in HTML and through
:func:`embed_json` inside ``<script>``, which escapes ``<``, ``>`` and ``&`` so no value can close the tag.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Any

import orjson

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")
LAYER_COLOURS = {"L1": "#1f77b4", "L1.5": "#17becf", "L2": "#2ca02c", "L3": "#ff7f0e"}

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:1.5rem auto;max-width:1100px;
color:#222;padding:0 1rem}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd}
.sub{color:#666;font-size:.9rem}.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(480px,1fr));gap:1rem}
.card{border:1px solid #e3e3e3;border-radius:6px;padding:.6rem .8rem;background:#fff}
.card h3{font-size:1rem;margin:.1rem 0 .4rem}table{border-collapse:collapse;font-size:.85rem}
td,th{padding:.2rem .5rem;border-bottom:1px solid #eee;text-align:right}th{background:#f6f6f6}
td:first-child,th:first-child{text-align:left}svg text{font-size:11px;fill:#333}
.legend span{display:inline-block;margin-right:.8rem;font-size:.8rem}
.legend i{display:inline-block;width:12px;height:12px;margin-right:.25rem;vertical-align:-2px}
label{margin-right:1rem;font-size:.9rem}input,select{font-size:.9rem}.note{color:#555;font-size:.85rem}
"""


def esc(value: object) -> str:
    """HTML-escape any value for text or a quoted attribute."""
    return html.escape(str(value), quote=True)


def embed_json(value: Any) -> str:
    """JSON safe to place inside ``<script>``: ``<``, ``>`` and ``&`` become unicode escapes."""
    text = orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY).decode()
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def page(title: str, subtitle: str, body: str, script: str = "") -> str:
    """A whole self-contained HTML document; ``title``/``subtitle`` are escaped here, ``body`` is trusted HTML."""
    js = f"<script>\n{script}\n</script>" if script else ""
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
            f"<title>{esc(title)}</title><style>{STYLE}</style></head><body>"
            f"<h1>{esc(title)}</h1><p class=\"sub\">{esc(subtitle)}</p>{body}{js}</body></html>\n")


def legend(names: Sequence[str], colours: Sequence[str]) -> str:
    items = "".join(f'<span><i style="background:{c}"></i>{esc(n)}</span>' for n, c in zip(names, colours, strict=True))
    return f'<div class="legend">{items}</div>'


def _ticks(lo: float, hi: float, log: bool) -> list[float]:
    if log:
        a, b = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
        return [10.0 ** e for e in range(a, b + 1) if lo <= 10.0 ** e <= hi] or [lo, hi]
    step = 10 ** math.floor(math.log10((hi - lo) / 4 or 1))
    for m in (1, 2, 5, 10):
        if (hi - lo) / (m * step) <= 6:
            step *= m
            break
    first = math.ceil(lo / step) * step
    return [first + i * step for i in range(int((hi - first) / step) + 1)]


def fmt(v: float) -> str:
    """Short number: 12k, 1.5M, 0.25."""
    a = abs(v)
    if a >= 1e6:
        return f"{v / 1e6:g}M"
    if a >= 1e3:
        return f"{v / 1e3:g}k"
    return f"{v:.3g}"


def line_chart(series: Sequence[tuple[str, Any, Any]], *, xlabel: str, ylabel: str,
               log_x: bool = False, y_range: tuple[float, float] | None = None, dashed: Sequence[bool] = (),
               width: int = 480, height: int = 260, steps: bool = False) -> str:
    """An SVG line chart of ``(name, xs, ys)`` series with axes, ticks and a legend; empty series are skipped."""
    pts = [(n, list(map(float, x)), list(map(float, y))) for n, x, y in series if len(x)]
    if not pts:
        return '<p class="note">no data</p>'
    xs = [v for _, x, _ in pts for v in x if not log_x or v > 0]
    ys = [v for _, _, y in pts for v in y]
    x0, x1 = min(xs), max(xs)
    y0, y1 = y_range or (min(0.0, min(ys)), max(ys) or 1.0)
    x1, y1 = (x1 if x1 > x0 else x0 + 1), (y1 if y1 > y0 else y0 + 1)
    ml, mr, mt, mb = 52, 12, 10, 38
    pw, ph = width - ml - mr, height - mt - mb

    def sx(v: float) -> float:
        f = (math.log10(v) - math.log10(x0)) / (math.log10(x1) - math.log10(x0)) if log_x else (v - x0) / (x1 - x0)
        return ml + f * pw

    def sy(v: float) -> float:
        return mt + ph - (v - y0) / (y1 - y0) * ph

    parts = [f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img">',
             f'<rect x="{ml}" y="{mt}" width="{pw}" height="{ph}" fill="#fafafa" stroke="#ccc"/>']
    for t in _ticks(x0, x1, log_x):
        parts.append(f'<line x1="{sx(t):.1f}" x2="{sx(t):.1f}" y1="{mt}" y2="{mt + ph}" stroke="#eee"/>'
                     f'<text x="{sx(t):.1f}" y="{mt + ph + 14}" text-anchor="middle">{fmt(t)}</text>')
    for t in _ticks(y0, y1, False):
        parts.append(f'<line x1="{ml}" x2="{ml + pw}" y1="{sy(t):.1f}" y2="{sy(t):.1f}" stroke="#eee"/>'
                     f'<text x="{ml - 4}" y="{sy(t) + 4:.1f}" text-anchor="end">{fmt(t)}</text>')
    parts.append(f'<text x="{ml + pw / 2}" y="{height - 4}" text-anchor="middle">{esc(xlabel)}</text>'
                 f'<text transform="translate(12,{mt + ph / 2}) rotate(-90)" text-anchor="middle">{esc(ylabel)}</text>')
    for i, (_, x, y) in enumerate(pts):
        keep = [(a, b) for a, b in zip(x, y, strict=True) if not log_x or a > 0]
        if steps:
            keep = [p for j, (a, b) in enumerate(keep) for p in ([(a, keep[j - 1][1])] if j else []) + [(a, b)]]
        d = " ".join(f"{sx(a):.1f},{sy(b):.1f}" for a, b in keep)
        dash = ' stroke-dasharray="5,4"' if i < len(dashed) and dashed[i] else ""
        parts.append(f'<polyline fill="none" stroke="{PALETTE[i % len(PALETTE)]}" stroke-width="1.8"{dash} '
                     f'points="{d}"/>')
    parts.append("</svg>")
    return "".join(parts) + legend([n for n, _, _ in pts], [PALETTE[i % len(PALETTE)] for i in range(len(pts))])


def bar_chart(labels: Sequence[str], values: Sequence[float], *, ylabel: str, width: int = 480,
              height: int = 240, percent: bool = False) -> str:
    """An SVG bar chart with the value written above each bar."""
    top = max(max(values, default=0.0), 1e-12)
    ml, mb, mt = 52, 40, 16
    pw, ph = width - ml - 12, height - mt - mb
    bw = pw / max(len(values), 1)
    parts = [f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img">',
             f'<line x1="{ml}" x2="{ml + pw}" y1="{mt + ph}" y2="{mt + ph}" stroke="#999"/>',
             f'<text transform="translate(12,{mt + ph / 2}) rotate(-90)" text-anchor="middle">{esc(ylabel)}</text>']
    for i, (lab, v) in enumerate(zip(labels, values, strict=True)):
        h = v / top * ph
        x = ml + i * bw + bw * 0.15
        shown = f"{v:.1%}" if percent else fmt(v)
        parts.append(f'<rect x="{x:.1f}" y="{mt + ph - h:.1f}" width="{bw * 0.7:.1f}" height="{h:.1f}" '
                     f'fill="{PALETTE[0]}"><title>{esc(lab)}: {shown}</title></rect>'
                     f'<text x="{x + bw * 0.35:.1f}" y="{mt + ph - h - 3:.1f}" text-anchor="middle">{shown}</text>'
                     f'<text x="{x + bw * 0.35:.1f}" y="{mt + ph + 14}" text-anchor="middle">{esc(lab)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def table(columns: Sequence[str], rows: Sequence[Sequence[object]], testid: str = "") -> str:
    """An HTML table; every cell is escaped."""
    tid = f' data-testid="{esc(testid)}"' if testid else ""
    head = "".join(f"<th>{esc(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table{tid}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
