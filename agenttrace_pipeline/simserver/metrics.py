"""``/metrics`` in Prometheus text format with vLLM's current (V1) metric names (REFERENCE §7)."""

from __future__ import annotations

from agenttrace_pipeline.simserver.engine import Engine


def exposition(engine: Engine, model: str) -> str:
    """The metrics page of ``engine``; token counters are totals since the server started."""
    c = engine.counters
    lab = f'{{engine="0",model_name="{model}"}}'
    rows = [
        ("vllm:prefix_cache_queries_total", "counter", "Prefix cache queries, in tokens.", c.queries),
        ("vllm:prefix_cache_hits_total", "counter", "Prefix cache hits, in tokens.", c.hits),
        ("vllm:prompt_tokens_total", "counter", "Prefill tokens processed.", c.prompt),
        ("vllm:generation_tokens_total", "counter", "Generation tokens processed.", c.generation),
        ("vllm:num_preemptions_total", "counter", "Cumulative number of preemptions.", c.preemptions),
        ("vllm:request_success_total", "counter", "Count of successfully processed requests.", c.requests),
        ("vllm:num_requests_running", "gauge", "Number of requests in model execution batches.", len(engine.running)),
        ("vllm:num_requests_waiting", "gauge", "Number of requests waiting to be processed.", len(engine.waiting)),
        ("vllm:kv_cache_usage_perc", "gauge", "KV-cache usage. 1 means 100 percent usage.", engine.pool.usage),
    ]
    out = []
    for name, kind, doc, value in rows:
        out += [f"# HELP {name} {doc}", f"# TYPE {name} {kind}", f"{name}{lab} {float(value)}"]
    return "\n".join(out) + "\n"
