"""Generator benchmark, side by side with AIPerf 0.13.0 (issue: generator).

* 20,000 sessions: wall time and peak RSS of ``agenttrace synthesize agentic-code`` (dataset + manifest +
  quality, validated) and of ``aiperf synthesize agentic-code`` (which also writes its HTML pages), each
  with its own default config, and ours again with AIPerf's own generation parameters (read from its
  manifest) for a like-for-like comparison.
* Restarts on (AIPerf's parameters with restart_initial_probability 0.3): hash ids used at two block sizes
  in each tool's output, counted by our validator.
* 1,000,000 sessions streamed to disk: peak RSS (target <= 1 GB).

AIPerf is installed into a throwaway venv (``--aiperf-venv``, default ``.cache/aiperf-0.13.0``) on first use.
Run: ``uv run python benchmarks/bench_synthesize.py [--sessions 20000] [--stream-sessions 1000000] [--skip-aiperf]``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import run_measured

from agenttrace_pipeline import settings
from agenttrace_pipeline.trace.validator import validate_file

AIPERF = "aiperf==0.13.0"


def ensure_aiperf(venv: Path) -> Path:
    exe = venv / "bin" / "aiperf"
    if not exe.exists():
        print(f"installing {AIPERF} into {venv} …", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", AIPERF], check=True)
    return exe


def run_dir(parent: Path) -> Path:
    (d,) = [p for p in parent.iterdir() if p.is_dir()]
    return d


def conflicts(dataset: Path) -> tuple[int, int]:
    rep = validate_file(dataset, max_errors=None)
    n = sum(1 for v in rep.violations if "keep one block size" in v.reason)
    return n, rep.sessions


def orjson_floor(dataset: Path, out: Path):
    """The floor: a child process that only serialises the dataset's rows with orjson (rows are loaded into
    memory before the clock starts; the interpreter's start is included, as it is in the measured command)."""
    code = ("import sys, time, orjson\n"
            "rows = [orjson.loads(line) for line in open(sys.argv[1], 'rb')]\n"
            "t = time.perf_counter()\n"
            "with open(sys.argv[2], 'wb') as fh:\n"
            "    for r in rows:\n"
            "        fh.write(orjson.dumps(r) + b'\\n')\n"
            "print(time.perf_counter() - t)\n")
    start = run_measured([sys.executable, "-c", "pass"])
    m = run_measured([sys.executable, "-c", code, str(dataset), str(out)])
    assert m.returncode == 0, m.stdout
    m.wall_s = float(m.stdout.strip()) + start.wall_s
    return m


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sessions", type=int, default=20_000)
    ap.add_argument("--stream-sessions", type=int, default=1_000_000)
    ap.add_argument("--aiperf-venv", type=Path, default=settings.PROJECT_ROOT / ".cache" / "aiperf-0.13.0")
    ap.add_argument("--skip-aiperf", action="store_true")
    args = ap.parse_args()
    beside = Path(sys.executable).parent / "agenttrace"  # the venv's command, with or without `uv run`
    ours = str(beside) if beside.exists() else shutil.which("agenttrace") or "agenttrace"
    n = str(args.sessions)
    rows: list[str] = []
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        m = run_measured([ours, "synthesize", "agentic-code", "--num-sessions", n, "--seed", "42", "--output", str(tmp / "ours")])
        assert m.returncode == 0, m.stdout
        man = json.loads((run_dir(tmp / "ours") / "manifest.json").read_text())
        rows.append(f"| agenttrace, bundled default | {n} | {man['rows']:,} | {m.wall_s:.1f} s | {m.peak_rss_mb:,.0f} MB |")
        floor = orjson_floor(run_dir(tmp / "ours") / "dataset.jsonl", tmp / "floor.jsonl")
        rows.append(f"| floor: a bare orjson loop writing the same rows (+ interpreter start) | {n} | {man['rows']:,} | "
                    f"{floor.wall_s:.1f} s | {floor.peak_rss_mb:,.0f} MB |")
        ratio = m.wall_s / floor.wall_s
        target = (f"\nagenttrace / floor: {ratio:.1f}x (target <= 2x); peak RSS {m.peak_rss_mb:,.0f} MB (target <= 200 MB)")
        if not args.skip_aiperf:
            exe = ensure_aiperf(args.aiperf_venv)
            a = run_measured([str(exe), "synthesize", "agentic-code", "--num-sessions", n, "--seed", "42",
                              "--output", str(tmp / "aiperf")])
            assert a.returncode == 0, a.stdout[-2000:]
            a_dir = run_dir(tmp / "aiperf")
            with open(a_dir / "dataset.jsonl", "rb") as fh:
                a_rows = sum(1 for _ in fh)
            rows.append(f"| aiperf 0.13.0, its default (+ HTML pages) | {n} | {a_rows:,} | {a.wall_s:.1f} s | "
                        f"{a.peak_rss_mb:,.0f} MB |")
            params = json.loads((a_dir / "manifest.json").read_text())
            same = run_measured([ours, "synthesize", "agentic-code", "--num-sessions", n, "--seed", "42",
                                 "--config", str(a_dir / "manifest.json"), "--output", str(tmp / "ours_aiperf_params")])
            assert same.returncode == 0, same.stdout
            s_man = json.loads((run_dir(tmp / "ours_aiperf_params") / "manifest.json").read_text())
            rows.append(f"| agenttrace, AIPerf's parameters (from its manifest) | {n} | {s_man['rows']:,} | "
                        f"{same.wall_s:.1f} s | {same.peak_rss_mb:,.0f} MB |")
            # restarts on: AIPerf's parameters with restart_initial_probability 0.3, 2,000 sessions
            gp = params["generation_params"]
            gp["restart_initial_probability"] = 0.3
            cfg = tmp / "restarts.json"
            cfg.write_text(json.dumps(gp))
            subprocess.run([str(exe), "synthesize", "agentic-code", "--num-sessions", "2000", "--seed", "42",
                            "--config", str(cfg), "--output", str(tmp / "a_restarts")], check=True, capture_output=True)
            subprocess.run([ours, "synthesize", "agentic-code", "--num-sessions", "2000", "--seed", "42",
                            "--config", str(cfg), "--output", str(tmp / "o_restarts")], check=True, capture_output=True)
            a_c, a_s = conflicts(run_dir(tmp / "a_restarts") / "dataset.jsonl")
            o_c, o_s = conflicts(run_dir(tmp / "o_restarts") / "dataset.jsonl")
        print("## generator benchmark\n")
        print("| run | sessions | rows | wall | peak RSS |")
        print("|---|---|---|---|---|")
        print("\n".join(rows))
        print(target)
        if not args.skip_aiperf:
            print(f"\nRestarts on (AIPerf parameters, restart_initial_probability 0.3, 2,000 sessions): rows reusing a "
                  f"hash id at a second block size — aiperf 0.13.0: {a_c:,} ({a_s:,} sessions); agenttrace: {o_c:,} "
                  f"({o_s:,} sessions).")
        if args.stream_sessions:
            big = run_measured([ours, "synthesize", "agentic-code", "--num-sessions", str(args.stream_sessions),
                                "--seed", "1", "--output", str(tmp / "stream")])
            assert big.returncode == 0, big.stdout[-2000:]
            b_man = json.loads((run_dir(tmp / "stream") / "manifest.json").read_text())
            size = (run_dir(tmp / "stream") / "dataset.jsonl").stat().st_size / 2**30
            print(f"\nStreaming: {args.stream_sessions:,} sessions → {b_man['rows']:,} rows ({size:.1f} GiB), generated "
                  f"and validated in {big.wall_s:.0f} s, peak RSS {big.peak_rss_mb:,.0f} MB (target <= 1 GB).")


if __name__ == "__main__":
    main()
