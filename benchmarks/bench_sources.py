"""Sources benchmark (issue: sources): ingest everything in ../shared/data end to end — every ``<source>_raw``
asset, then agent_turns (with its checks), tool_spans, arrivals, agent_sessions, openhands_trace_shapes —
into a fresh warehouse, in a child process (wall time and peak RSS; targets 20 s and 1 GB). Then a
per-source table (traces, turns, median prompt / new / output tokens, median gap) beside the figures in
../shared/data/SOURCES.md.

Run: ``uv run python benchmarks/bench_sources.py``.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import run_measured

SOURCES_MD = {  # what ../shared/data/SOURCES.md says about each source
    "mini_swe_agent_chat": "99 trajectories, 7,924 LLM calls, median prompt ~19.6k, median completion ~90, tool ~0.25 s, LLM ~4 s",
    "mini_swe_agent_reasoner": "15 trajectories, 655 LLM calls",
    "openhands_multi_swe_bench": "3 instances: 23, 33 and 49 LLM calls",
    "openhands_agentsafety": "47 rows (2 + 45), 797 events, no token counts",
    "claude_code_tracelab": "one Claude Code session segment (64 records)",
    "tracelab_rounds": "19 rounds",
    "azure_2023": "8,819 + 19,366 requests; median context 1,469 / 1,020, generation 13 / 129",
    "mooncake_fast25": "12,031 + 3,993 requests",
    "agenttrace": "not available offline: the bundled sample is used",
}


def child() -> None:
    import dagster as dg

    from agenttrace_pipeline.defs.sources import assets as src
    from agenttrace_pipeline.lib.warehouse import WarehouseResource

    assets = [*src.raw_assets, src.agent_turns, src.tool_spans, src.arrivals, src.agent_sessions, src.openhands_trace_shapes]
    result = dg.materialize(assets, resources={"warehouse": WarehouseResource()}, instance=dg.DagsterInstance.ephemeral(),
                            raise_on_error=False)
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    print(f"success={result.success} checks={sum(checks.values())}/{len(checks)}")


def main() -> None:
    if sys.argv[1:] == ["--child"]:
        child()
        return
    with tempfile.TemporaryDirectory() as tmp:
        env = {"AGENTTRACE_WAREHOUSE": f"{tmp}/wh/agenttrace.duckdb", "AGENTTRACE_OFFLINE": "1",
               "DAGSTER_HOME": tmp, "AGENTTRACE_CACHE": f"{tmp}/cache"}
        Path(tmp, "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
        m = run_measured([sys.executable, __file__, "--child"], env=env)
        assert m.returncode == 0 and "success=True" in m.stdout, m.stdout
        os.environ.update(env)
        from agenttrace_pipeline.store.warehouse import Warehouse

        wh = Warehouse()
        print("## sources benchmark\n")
        print(f"Everything in ../shared/data, end to end through the Dagster assets: {m.wall_s:.1f} s wall, "
              f"peak RSS {m.peak_rss_mb:,.0f} MB (targets: 20 s, 1 GB); {m.stdout.strip()}\n")
        turns = wh.query("""
            SELECT source, count(DISTINCT trace_id) AS traces, count(*) AS turns,
                   median(prompt_tokens) AS prompt, median(new_input_tokens) AS new, median(completion_tokens) AS output,
                   median(gap_before_ms) AS gap_ms, median(llm_latency_ms) AS llm_ms
            FROM agent_turns GROUP BY 1 ORDER BY 1""")
        stats = dict(wh.query("SELECT source, records_quarantined FROM source_ingest_stats").rows())
        print("| source | traces | turns | median prompt | median new | median output | median gap | median LLM | "
              "quarantined | SOURCES.md |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        fmt = lambda v, unit="": "–" if v is None else f"{v:,.0f}{unit}"  # noqa: E731
        for r in turns.iter_rows(named=True):
            print(f"| {r['source']} | {r['traces']:,} | {r['turns']:,} | {fmt(r['prompt'])} | {fmt(r['new'])} | "
                  f"{fmt(r['output'])} | {fmt(r['gap_ms'], ' ms')} | {fmt(r['llm_ms'], ' ms')} | {stats.get(r['source'], 0)} | "
                  f"{SOURCES_MD.get(r['source'], '')} |")
        arr = wh.query("""SELECT source, regexp_extract(file, '[^/]+$') AS file, count(*) AS n,
                                 median(input_tokens) AS inp, median(output_tokens) AS out FROM arrivals GROUP BY ALL ORDER BY 1, 2""")
        for r in arr.iter_rows(named=True):
            print(f"| {r['source']} ({r['file']}) | – | {r['n']:,} requests | {r['inp']:,.0f} | – | {r['out']:,.0f} | – | – | "
                  f"{stats.get(r['source'], 0)} | {SOURCES_MD.get(r['source'], '')} |")


if __name__ == "__main__":
    main()
