"""Probe how a server mixes prefill into decoding (agenttrace_pipeline/calibration/probe.py), against a running
server or against serve-sim with a preset, so the two can be put side by side.

    .venv/bin/python scripts/mixed_steps.py --url http://127.0.0.1:8000 --model MODEL [--api-key-env VAR]
    .venv/bin/python scripts/mixed_steps.py --sim PRESET [--capacity-blocks 256 --block-tokens 128 --max-seqs 64]
        [--batches 2,4] [--periods none,150,60] [--context 2048] [--new-tokens 384] [--decode-tokens 160]
        [--repeats 3] [--out FILE.parquet]

``--sim`` starts ``agenttrace serve-sim`` with the preset (its tokens per step are the preset's
``max_batch_tokens``) in its own process on a free loopback port, so the probe and the simulated engine do not
share an interpreter, and stops it afterwards. Prints one line per setting:
the background batch's median time per output token and end-to-end time, and the arrivals' median TTFT.
Exit status 0, or 2 when the server cannot be reached or no request succeeds.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agenttrace_pipeline.calibration.probe import ProbePlan, run_probe
from agenttrace_pipeline.calibration.vllm_cpu import stop_group
from agenttrace_pipeline.simserver.serve import free_port, wait_healthy


def _ints(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


def _periods(text: str) -> tuple[float | None, ...]:
    try:
        return tuple(None if v.strip().lower() == "none" else float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated ms or 'none', got {text!r}") from None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    where = ap.add_mutually_exclusive_group(required=True)
    where.add_argument("--url", help="A running OpenAI-compatible server.")
    where.add_argument("--sim", metavar="PRESET", help="Start serve-sim with this cost preset (name or JSON file).")
    ap.add_argument("--model", default="sim", help="Served model name (with --url).")
    ap.add_argument("--api-key-env", default=None, help="Environment variable holding the server's API key.")
    ap.add_argument("--capacity-blocks", type=int, default=256)
    ap.add_argument("--block-tokens", type=int, default=128)
    ap.add_argument("--max-seqs", type=int, default=64)
    ap.add_argument("--batches", type=_ints, default=(2, 4))
    ap.add_argument("--periods", type=_periods, default=(None, 150.0, 60.0), help="Arrival periods in ms; 'none': the batch alone.")
    ap.add_argument("--context", type=int, default=2048)
    ap.add_argument("--new-tokens", type=int, default=384)
    ap.add_argument("--decode-tokens", type=int, default=160)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", type=Path, default=None, help="Also write the rows as Parquet.")
    a = ap.parse_args()
    try:
        plan = ProbePlan(batches=a.batches, periods_ms=a.periods, context=a.context,
                         new_tokens=a.new_tokens, decode_tokens=a.decode_tokens, repeats=a.repeats)
    except ValueError as exc:
        ap.error(str(exc))
    key = os.environ.get(a.api_key_env) if a.api_key_env else None
    proc = None
    url, model = a.url, a.model
    with tempfile.TemporaryFile() as log:  # serve-sim's stderr, shown when it fails (a pipe left unread could fill)
        try:
            if a.sim:
                port = free_port("127.0.0.1")
                agenttrace = Path(sys.executable).with_name("agenttrace")
                proc = subprocess.Popen([str(agenttrace), "serve-sim", "--port", str(port), "--model", "sim", "--engine",
                                         a.sim, "--capacity-blocks", str(a.capacity_blocks), "--block-tokens",
                                         str(a.block_tokens), "--max-seqs", str(a.max_seqs), "--max-waiting", "100000"],
                                        stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
                url, model = f"http://127.0.0.1:{port}", "sim"
                wait_healthy(url, 30.0, lambda: proc is not None and proc.poll() is None)
            df = run_probe(url, model, plan, api_key=key)
        except (RuntimeError, OSError) as exc:
            log.seek(0)
            err = log.read().decode(errors="replace")[-2000:].strip()
            print(f"probe failed: {exc}{chr(10) + err if err else ''}", file=sys.stderr)
            return 2
        finally:
            if proc is not None:
                stop_group(proc)
    fmt = lambda v: "     —" if v is None else f"{v:6.2f}"  # noqa: E731
    print(f"{'batch':>5} {'period ms':>9} {'bg ms/token':>11} {'bg e2e ms':>9} {'arrival TTFT ms':>15} {'arrivals':>8}")
    for r in df.iter_rows(named=True):
        period = "none" if r["period_ms"] is None else f"{r['period_ms']:.0f}"
        print(f"{r['batch']:>5} {period:>9} {fmt(r['background_tpot_ms']):>11} {fmt(r['background_e2e_ms']):>9} "
              f"{fmt(r['arrival_ttft_ms']):>15} {r['arrivals']:>8}")
    if a.out:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        df.write_parquet(a.out)
        print(f"written: {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
