"""Validator benchmarks (issue 10, "A faster, leaner trace contract"): every target beside the measured
figure and the floor, in one run.

Cases, each validated by ``agenttrace validate mooncake-trace`` in a fresh child process:

1. FAST'25 conversation trace (12,031 rows): target wall <= 1 s.
2. A 20,000-session dataset of the default profile (generated here): target peak RSS <= 200 MB and wall
   <= 2 x the floor.
3. A 1,000,000-session dataset of the default profile, streamed and validated: target peak RSS <= 400 MB
   (at most ~1 bit of index per distinct hash id would be ideal; the report gives bits per id) and wall
   <= 90 s. Generating it takes minutes and ~3 GB of disk: pass ``--big PATH`` to reuse a file.

Floor: a bare orjson loop over the same file in a child process (parse every line, keep nothing). CPU is
user + system time of the child; on a shared machine it is steadier than wall time.

Run: ``uv run python benchmarks/bench_validate.py [--sessions 1000000 | 0] [--big PATH] [--keep DIR]``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import Measured, run_measured

from agenttrace_pipeline import settings

FLOOR = "import orjson,sys\nwith open(sys.argv[1],'rb') as f:\n    for line in f: orjson.loads(line)\n"


def generate(folder: Path, sessions: int, name: str) -> tuple[Path, float]:
    """A default-profile dataset of ``sessions`` sessions (not validated here) and the seconds it took."""
    from agenttrace_pipeline.synth.config import load_config
    from agenttrace_pipeline.synth.generate import synthesize

    _, cfg = load_config("default")
    t0 = time.perf_counter()
    res = synthesize(cfg, num_sessions=sessions, seed=1, output_root=folder, run_name=name, validate=False)
    return res.dataset, time.perf_counter() - t0


def measure(path: Path) -> tuple[Measured, dict, Measured]:
    """The validator's run, its JSON report and the floor's run over ``path``."""
    exe = shutil.which("agenttrace") or "agenttrace"
    m = run_measured([exe, "validate", "mooncake-trace", "--input", str(path), "--json"])
    report = orjson.loads(m.stdout)
    assert report["valid"], report["violations"][:3]
    return m, report, run_measured([sys.executable, "-c", FLOOR, str(path)])


def row(case: str, m: Measured, report: dict, floor: Measured, targets: list[tuple[str, bool]]) -> str:
    ids = report["distinct_hash_ids"]
    bits = f"{report['index_bytes'] * 8 / ids:.2f} bits/id" if ids else "-"
    met = "; ".join(f"{t}: {'met' if ok else 'NOT met'}" for t, ok in targets)
    return (f"| {case} | {report['rows']:,} rows, {report['sessions']:,} sessions, {ids:,} ids | "
            f"{m.wall_s:.2f} s / {m.cpu_s:.2f} s | {m.peak_rss_mb:.0f} MB | {bits} | "
            f"{floor.wall_s:.2f} s / {floor.cpu_s:.2f} s, {floor.peak_rss_mb:.0f} MB | "
            f"{m.wall_s / floor.wall_s:.1f}x / {m.cpu_s / floor.cpu_s:.1f}x | {met} |")


def in_process(path: Path) -> str:
    """The validator's own CPU, without process start and imports, beside an orjson loop's in this process."""
    import orjson as oj

    from agenttrace_pipeline.trace.validator import validate_file

    validate_file(path, max_errors=1)  # imports, and the file in the page cache
    t0 = time.process_time()
    rep = validate_file(path)
    cpu = time.process_time() - t0
    t0 = time.process_time()
    with open(path, "rb") as fh:
        for line in fh:
            oj.loads(line)
    floor = time.process_time() - t0
    return (f"| same, validate_file() in process (no start-up) | {rep.rows:,} rows | - / {cpu:.2f} s | | | "
            f"- / {floor:.2f} s | - / {cpu / floor:.1f}x | |")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sessions", type=int, default=1_000_000, help="sessions of the big case (0: skip it)")
    ap.add_argument("--big", type=Path, help="reuse this dataset for the big case instead of generating one")
    ap.add_argument("--keep", type=Path, help="generate into this folder and keep the datasets")
    args = ap.parse_args()
    print("## validator benchmarks (wall / CPU; floor: bare orjson loop over the same file)\n")
    print("| case | size | validator wall / CPU | peak RSS | index | floor wall / CPU, RSS | vs floor | targets |")
    print("|---|---|---|---|---|---|---|---|")
    conv = settings.shared_data() / "mooncake" / "conversation_trace.jsonl"
    if conv.exists():
        m, rep, fl = measure(conv)
        print(row("FAST'25 conversation_trace.jsonl", m, rep, fl, [("wall <= 1 s", m.wall_s <= 1)]))
    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench_validate_"))
    try:
        small, gen = generate(folder, 20_000, "s20k")
        m, rep, fl = measure(small)
        print(row(f"20k sessions, default profile (generated in {gen:.1f} s)", m, rep, fl,
                  [("RSS <= 200 MB", m.peak_rss_mb <= 200), ("wall <= 2x floor", m.wall_s <= 2 * fl.wall_s)]))
        print(in_process(small))
        if args.big is None and args.sessions <= 0:
            return
        if args.big is None:
            big, gen = generate(folder, args.sessions, "big")
            note = f"generated in {gen:.0f} s"
        else:
            big, note = args.big, "given"
        m, rep, fl = measure(big)
        print(row(f"{rep['sessions']:,} sessions streamed ({big.stat().st_size / 2**30:.1f} GiB, {note})", m, rep, fl,
                  [("RSS <= 400 MB", m.peak_rss_mb <= 400), ("wall <= 90 s", m.wall_s <= 90)]))
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
