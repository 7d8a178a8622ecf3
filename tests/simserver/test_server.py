"""The simulated engine over HTTP: OpenAI SDK, metrics names, cached tokens, limits and injected faults."""

from __future__ import annotations

import httpx
import openai
import pytest

from agenttrace_pipeline.replay.hitrates import counters, parse
from agenttrace_pipeline.simserver.config import SimConfig
from agenttrace_pipeline.simserver.serve import running_sim

PROMPT = "the same long prefix " * 20  # 420 tokens under the byte rule


@pytest.fixture(scope="module")
def sim():
    with running_sim(SimConfig(time_scale=0.01, capacity_blocks=1000, max_request_bytes=100_000)) as h:
        yield h


def test_openai_sdk_completions_and_chat_stream(sim):
    c = openai.OpenAI(base_url=f"{sim.url}/v1", api_key="unused", max_retries=0)
    first = c.completions.create(model="sim", prompt=PROMPT, max_tokens=8)
    assert len(first.choices[0].text) == 8 and first.choices[0].finish_reason == "length"
    assert first.usage.prompt_tokens == len(PROMPT) and first.usage.prompt_tokens_details.cached_tokens == 0
    again = c.completions.create(model="sim", prompt=PROMPT, max_tokens=8)
    assert again.usage.prompt_tokens_details.cached_tokens == (len(PROMPT) - 1) // 16 * 16  # full blocks, n-1 cap
    stream = c.chat.completions.create(model="sim", messages=[{"role": "user", "content": PROMPT}], max_tokens=6,
                                       stream=True, stream_options={"include_usage": True})
    chunks = list(stream)
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    assert len(text) == 6 and chunks[-1].usage.completion_tokens == 6
    assert chunks[-1].usage.prompt_tokens_details.cached_tokens > 0  # chat text = completions text
    assert [m.id for m in c.models.list()] == ["sim"]


def test_metrics_use_vllm_names_and_count_tokens(sim):
    before = parse(httpx.get(f"{sim.url}/metrics").text)
    httpx.post(f"{sim.url}/v1/completions", json={"model": "sim", "prompt": PROMPT + "x", "max_tokens": 2})
    after = parse(httpx.get(f"{sim.url}/metrics").text)
    for name in ("vllm:kv_cache_usage_perc", "vllm:num_requests_running", "vllm:num_requests_waiting",
                 "vllm:generation_tokens_total"):
        assert name in after
    assert after["vllm:prefix_cache_queries_total"] - before["vllm:prefix_cache_queries_total"] == len(PROMPT) + 1
    assert after["vllm:prompt_tokens_total"] - before["vllm:prompt_tokens_total"] == len(PROMPT) + 1
    assert counters(after)[0] == "vllm"
    assert httpx.get(f"{sim.url}/health").status_code == 200


def test_bad_requests_get_clear_errors(sim):
    r = httpx.post(f"{sim.url}/v1/completions", json={"model": "other", "prompt": "x"})
    assert r.status_code == 400 and "model" in r.json()["error"]["message"]
    r = httpx.post(f"{sim.url}/v1/completions", json={"model": "sim", "prompt": "x", "max_tokens": 0})
    assert r.status_code == 400 and "max_tokens" in r.json()["error"]["message"]
    r = httpx.post(f"{sim.url}/v1/completions", json={"model": "sim", "prompt": "x" * 200_000})
    assert r.status_code == 413


def test_queue_full_answers_429():
    with running_sim(SimConfig(max_waiting=0)) as h:
        r = httpx.post(f"{h.url}/v1/completions", json={"model": "sim", "prompt": "x", "max_tokens": 2})
        assert r.status_code == 429


def test_injected_errors_and_stream_cuts():
    with running_sim(SimConfig(time_scale=0.0, error_rate=1.0)) as h:
        r = httpx.post(f"{h.url}/v1/completions", json={"model": "sim", "prompt": "x", "max_tokens": 2})
        assert r.status_code == 500
    with running_sim(SimConfig(time_scale=0.0, cut_rate=1.0)) as h:
        with httpx.stream("POST", f"{h.url}/v1/completions",
                          json={"model": "sim", "prompt": "x", "max_tokens": 10, "stream": True}) as r:
            body = r.read()
        assert b"[DONE]" not in body and b'"finish_reason":"length"' not in body
