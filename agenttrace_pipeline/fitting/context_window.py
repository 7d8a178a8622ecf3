"""A fitted profile's ``max_prompt_tokens``: the context window of the model the source ran.

Order of precedence:

1. the source's own ``context_window`` in the sources config (a user knows their deployment best);
2. the default of the model's family, from :data:`FAMILY_CONTEXT_WINDOWS` (first matching entry wins, so
   specific names come before the family name);
3. for a model no entry matches: the largest observed prompt rounded up to a power of two (context sizes are
   powers of two for most open models), recorded as a guess.

When the observed prompts exceed the window found in 1 or 2, the data contradict it and rule 3 applies,
with the reason recorded. Never a multiple of the largest prompt: generated sessions must stop where the
real model would have stopped.

| model name contains | context window (tokens) | source of the figure                               |
|---------------------|-------------------------|----------------------------------------------------|
| claude              | 200,000                 | Anthropic: Claude 3 / 4 models (standard window)   |
| deepseek            | 131,072                 | DeepSeek API: deepseek-chat / -reasoner, 128K      |
| gpt-5               | 400,000                 | OpenAI: GPT-5 family                               |
| gpt-4.1             | 1,047,576               | OpenAI: GPT-4.1 family                             |
| gpt-4o              | 128,000                 | OpenAI: GPT-4o                                     |
| gpt                 | 128,000                 | OpenAI: other GPT-4-turbo-class models             |
| gemini              | 1,048,576               | Google: Gemini 1.5 / 2.x                           |
| qwen                | 32,768                  | Qwen2.5 / Qwen3 native window (without YaRN)       |
| llama-4             | 1,048,576               | Meta: Llama 4 Maverick as served by providers      |
| llama               | 131,072                 | Meta: Llama 3.1 and later                          |
"""

from __future__ import annotations

import math
from dataclasses import dataclass

FAMILY_CONTEXT_WINDOWS: tuple[tuple[str, int], ...] = (
    ("claude", 200_000),
    ("deepseek", 131_072),
    ("gpt-5", 400_000),
    ("gpt-4.1", 1_047_576),
    ("gpt-4o", 128_000),
    ("gpt", 128_000),
    ("gemini", 1_048_576),
    ("qwen", 32_768),
    ("llama-4", 1_048_576),
    ("llama", 131_072),
)


@dataclass(frozen=True, slots=True)
class ContextWindow:
    tokens: int
    basis: str


def family_default(model: str | None) -> tuple[str, int] | None:
    """The first (family, window) of :data:`FAMILY_CONTEXT_WINDOWS` whose name the model name contains."""
    name = (model or "").lower()
    return next(((fam, tokens) for fam, tokens in FAMILY_CONTEXT_WINDOWS if fam in name), None)


def context_window(model: str | None, configured: int | None, largest_prompt: int) -> ContextWindow:
    """The context window for a profile fitted from traces of ``model`` whose largest prompt was
    ``largest_prompt`` tokens; ``configured`` is the source's own ``context_window`` (or None)."""
    if configured is not None and configured <= 0:
        raise ValueError(f"context_window must be a positive number of tokens, got {configured}")
    if configured:
        found = ContextWindow(int(configured), "context_window of the source in the sources config")
    elif (fam := family_default(model)) is not None:
        found = ContextWindow(fam[1], f"default for the {fam[0]!r} model family (model {model!r})")
    else:
        return ContextWindow(_power_of_two(largest_prompt),
                             f"model {model!r} is in no known family: largest observed prompt ({largest_prompt:,}) "
                             "rounded up to a power of two; set context_window on the source")
    if largest_prompt >= found.tokens:
        return ContextWindow(_power_of_two(largest_prompt),
                             f"observed prompts ({largest_prompt:,}) exceed the {found.basis} ({found.tokens:,}): "
                             "largest observed prompt rounded up to a power of two")
    return found


def _power_of_two(tokens: int) -> int:
    # strictly above the largest prompt (the generator keeps every prompt below max_prompt_tokens), and
    # never below 4,096 so a tiny sample still leaves room for a session to grow
    return max(4096, 2 ** math.ceil(math.log2(max(tokens, 1) + 1)))
