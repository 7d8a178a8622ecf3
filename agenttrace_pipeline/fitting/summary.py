"""What the fit assets report: their checks' verdicts and markdown tables, computed from the tables."""

from __future__ import annotations

import polars as pl

from agenttrace_pipeline.fitting.holdout import HELDOUT_MARGIN, ks_target
from agenttrace_pipeline.fitting.quantities import ARRIVAL_OPTIONS, FIT_OPTIONS


def chosen_per_quantity(fits: pl.DataFrame) -> pl.DataFrame:
    """(source, quantity, k): how many fits are chosen per fitted quantity (exactly one is right)."""
    return fits.group_by("source", "quantity").agg(pl.col("chosen").sum().alias("k")).sort("source", "quantity")


def over_threshold(fits: pl.DataFrame) -> list[str]:
    """Chosen fits whose in-sample KS is above their quantity's threshold (see :func:`ks_target`), with the
    reason recorded."""
    def threshold(quantity: str, n: int) -> float:
        options = FIT_OPTIONS.get(quantity.split(":")[0], ARRIVAL_OPTIONS)
        return ks_target(float(options["ks_threshold"]), n)

    return [f"{r['source']}/{r['quantity']}: {r['family']} KS {r['ks']:.3f} ({r['note']})"
            for r in fits.filter("chosen").sort("source", "quantity").iter_rows(named=True)
            if r["ks"] > threshold(r["quantity"], r["n"])]


def _f(v: float | None) -> str:
    return "–" if v is None else f"{v:.3f}"


def chosen_md(fits: pl.DataFrame) -> str:
    """Markdown: per chosen fit, in-sample KS beside held-out KS and the noise floor."""
    head = ("| source | quantity | chosen | confidence | n (train / held out) | KS in-sample | KS held-out | noise floor |\n"
            "|---|---|---|---|---|---|---|---|\n")
    return head + "".join(
        f"| {r['source']} | {r['quantity']} | {r['family']} | {r['confidence']} | {r['n']:,} ({r['n_train']:,} / "
        f"{r['n_heldout']:,}) | {r['ks']:.3f} | {_f(r['ks_heldout'])} | {_f(r['ks_noise_floor'])} |\n"
        for r in fits.filter("chosen").sort("source", "quantity").iter_rows(named=True))


def roundtrip_md(rt: pl.DataFrame) -> str:
    """Markdown: the round trip of every profile."""
    head = ("| profile | quantity | n | KS profile | KS AIPerf mean/median | target | KS held-out | noise floor "
            f"(+{HELDOUT_MARGIN}) | passes |\n|---|---|---|---|---|---|---|---|---|\n")
    return head + "".join(
        f"| {r['profile']} | {r['quantity']} | {r['n_data']:,} | {r['ks_profile']:.3f} | {r['ks_aiperf_baseline']:.3f} | "
        f"{r['target']:.3f} | {_f(r['ks_heldout'])} | {_f(r['ks_noise_floor'])} | {'yes' if r['passes'] else 'NO'} |\n"
        for r in rt.iter_rows(named=True))
