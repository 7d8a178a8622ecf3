"""The fit report: one offline HTML page (inline SVG, no scripts, no CDN) with, per source and quantity,
the empirical CDF against the chosen fit and AIPerf's mean/median lognormal, a QQ plot, and the fit table
with each candidate's in-sample KS beside its KS on held-out traces and the train-vs-held-out noise floor."""

from __future__ import annotations

import html
import math
from collections.abc import Iterable

import numpy as np

from agenttrace_pipeline.fitting.run import FitRun
from agenttrace_pipeline.fitting.select import QuantityFit, model_cdf

W, H, PAD = 340, 220, 36


def _scale(v: np.ndarray, lo: float, hi: float, out_lo: float, out_hi: float) -> np.ndarray:
    return out_lo + (v - lo) / (hi - lo or 1) * (out_hi - out_lo)


def _poly(xs, ys, color: str, dash: str = "") -> str:
    pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys, strict=True) if math.isfinite(x) and math.isfinite(y))
    return f'<polyline fill="none" stroke="{color}" stroke-width="1.6" {dash} points="{pts}"/>'


def _frame(title: str, body: str, xlabel: str, ylabel: str) -> str:
    return (f'<svg width="{W}" height="{H}" viewBox="0 0 {W} {H}" role="img" aria-label="{html.escape(title)}">'
            f'<rect x="{PAD}" y="8" width="{W - PAD - 8}" height="{H - PAD - 8}" fill="#fafafa" stroke="#bbb"/>'
            f'{body}<text x="{W / 2}" y="{H - 6}" font-size="11" text-anchor="middle">{html.escape(xlabel)}</text>'
            f'<text x="10" y="{H / 2}" font-size="11" transform="rotate(-90 10 {H / 2})" text-anchor="middle">'
            f'{html.escape(ylabel)}</text></svg>')


def cdf_svg(q: QuantityFit, data: np.ndarray) -> str:
    x = np.sort(np.maximum(data.astype(float), 1))
    lx = np.log10(x)
    lo, hi = lx[0], lx[-1] if lx[-1] > lx[0] else lx[0] + 1
    grid = np.linspace(lo, hi, 120)
    ecdf_y = np.searchsorted(x, 10 ** grid, side="right") / x.size
    sx = _scale(grid, lo, hi, PAD, W - 8)
    y_of = lambda p: _scale(np.asarray(p), 0, 1, H - PAD, 8)  # noqa: E731
    body = _poly(sx, y_of(ecdf_y), "#222")
    body += _poly(sx, y_of(model_cdf(q.chosen, q.quantiles)(10 ** grid)), "#d62728")
    body += _poly(sx, y_of(model_cdf(q.baseline)(10 ** grid)), "#1f77b4", 'stroke-dasharray="4 3"')
    return _frame(f"{q.quantity} CDF", body, f"{q.quantity} (log10)", "P(X ≤ x)")


def qq_svg(q: QuantityFit, data: np.ndarray) -> str:
    probs = np.linspace(0.01, 0.99, 60)
    dq = np.quantile(np.maximum(data.astype(float), 1), probs)
    if q.chosen.family == "empirical":
        mq = np.interp(probs, np.linspace(0, 1, len(q.quantiles)), q.quantiles)
    else:
        grid = np.quantile(np.maximum(data.astype(float), 1), np.linspace(0, 1, 2000))
        cdf = model_cdf(q.chosen, q.quantiles)(grid)
        mq = np.interp(probs, cdf, grid)
    ld, lm = np.log10(np.maximum(dq, 1)), np.log10(np.maximum(mq, 1))
    lo, hi = min(ld.min(), lm.min()), max(ld.max(), lm.max()) + 1e-9
    diagonal = np.array([lo, hi])
    body = _poly(_scale(diagonal, lo, hi, PAD, W - 8), _scale(diagonal, lo, hi, H - PAD, 8), "#999", 'stroke-dasharray="2 2"')
    body += "".join(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="2" fill="#d62728"/>'
                    for cx, cy in zip(_scale(ld, lo, hi, PAD, W - 8), _scale(lm, lo, hi, H - PAD, 8), strict=True))
    return _frame(f"{q.quantity} QQ", body, "data quantile (log10)", "model quantile (log10)")


def _table(q: QuantityFit) -> str:
    rows = "".join(
        f"<tr{' class=chosen' if f is q.chosen else ''}><td>{f.family}</td><td>{_fmt(f.loglik)}</td><td>{_fmt(f.aic)}</td>"
        f"<td>{_fmt(f.bic)}</td><td>{f.ks:.4f}</td><td>{_ks(f.ks_heldout)}</td><td>{_fmt(f.ad)}</td>"
        f"<td>{html.escape(_params(f))}</td></tr>"
        for f in [*q.fits, q.baseline])
    return ("<table><tr><th>family</th><th>log-lik</th><th>AIC</th><th>BIC</th><th>KS in-sample</th><th>KS held-out</th>"
            f"<th>AD</th><th>parameters (95 % CI)</th></tr>{rows}</table>")


def _ks(v: float | None) -> str:
    return "–" if v is None or not math.isfinite(v) else f"{v:.4f}"


def _heading(q: QuantityFit) -> str:
    note = "; ".join(q.notes)
    held = (f"; held out: {q.n_heldout:,} values, noise floor {_ks(q.noise_floor)}" if q.n_heldout else
            "; no held-out traces")
    return (f"<h3>{html.escape(q.quantity)} <small>(n = {q.n:,}, confidence {q.confidence}{held}"
            f"{'; ' + html.escape(note) if note else ''})</small></h3>")


def _fmt(v: float) -> str:
    return "–" if v is None or not math.isfinite(v) else f"{v:,.1f}"


def _params(f) -> str:
    if f.family == "empirical":
        return f"quantile table ({int(f.params['points'])} points)"
    parts = []
    for k, v in f.params.items():
        ci = f.ci.get(k)
        parts.append(f"{k}={v:.4g}" + (f" [{ci[0]:.4g}, {ci[1]:.4g}]" if ci else ""))
    return ", ".join(parts) + (f" — {f.note}" if f.note else "")


def render(sections: Iterable[tuple[str, list[tuple[QuantityFit, np.ndarray]]]]) -> str:
    """The whole page: ``sections`` = (source, [(fit, data), …])."""
    out = ["<!doctype html><html><head><meta charset=utf-8><title>agenttrace fit report</title><style>",
           "body{font:14px system-ui,sans-serif;margin:24px;max-width:1200px}h2{margin-top:32px}table{border-collapse:collapse;"
           "font-size:12px;margin:6px 0 18px}td,th{border:1px solid #ddd;padding:3px 6px;text-align:right}"
           "td:first-child,th:first-child{text-align:left}tr.chosen{background:#ffe9a8}.plots{display:flex;gap:12px;flex-wrap:wrap}"
           ".legend span{margin-right:14px}</style></head><body><h1>Distribution fits</h1>",
           "<p class=legend><span style='color:#222'>━ data (ECDF)</span><span style='color:#d62728'>━ chosen fit</span>"
           "<span style='color:#1f77b4'>╌ AIPerf's lognormal from mean and median</span> · highlighted row = chosen · "
           "KS held-out: the same family refitted on 70 % of the traces, scored on the other 30 %; the noise floor is "
           "the KS between those two sets of traces, with no model</p>"]
    for source, fits in sections:
        out.append(f"<h2>{html.escape(source)}</h2>")
        for q, data in fits:
            out.append(_heading(q))
            out.append(f"<div class=plots>{cdf_svg(q, data)}{qq_svg(q, data)}</div>{_table(q)}")
    out.append("</body></html>")
    return "".join(out)


def render_run(run: FitRun) -> str:
    """The page for a whole :class:`FitRun`: every source's quantities, then every arrival trace."""
    sections = [(s, [(qf, run.data[s].values[q]) for q, qf in fs.items()]) for s, fs in run.fits.items()]
    sections += [(f"arrivals: {name}", [(qf, gaps)]) for name, (qf, gaps, _) in run.arrivals.items()]
    return render(sections)
