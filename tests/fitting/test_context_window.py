"""max_prompt_tokens from the model's context window, never from a multiple of the largest prompt."""

from __future__ import annotations

import pytest

from agenttrace_pipeline.fitting.context_window import context_window


@pytest.mark.parametrize(("model", "tokens"), [
    ("deepseek-chat", 131_072), ("claude-opus-4-8", 200_000), ("anthropic/claude-sonnet-4", 200_000),
    ("gpt-5.4", 400_000), ("gpt-4o-mini", 128_000), ("Qwen/Qwen3-0.6B", 32_768),
    ("openai/openrouter-llama-4-maverick", 1_048_576), ("meta-llama/Llama-3.1-8B", 131_072),
])
def test_known_model_families_have_their_context_window(model, tokens):
    # (mini-swe-agent on deepseek-chat: largest prompt ~82k, and 4 × that gave 327,680)
    window = context_window(model, None, 20_000)
    assert window.tokens == tokens and "model family" in window.basis


def test_the_sources_own_context_window_comes_first():
    window = context_window("deepseek-chat", 64_000, 50_000)
    assert window.tokens == 64_000 and "sources config" in window.basis
    with pytest.raises(ValueError, match="context_window must be a positive number of tokens"):
        context_window("deepseek-chat", -5, 50_000)


def test_unknown_models_and_contradicting_data_fall_back_to_a_power_of_two_and_say_so():
    unknown = context_window("sample-model", None, 5_000)
    assert unknown.tokens == 8_192 and "no known family" in unknown.basis
    over = context_window("qwen2.5-coder", None, 40_000)  # prompts beyond Qwen's native 32k: the data win
    assert over.tokens == 65_536 and "exceed" in over.basis
