"""Streamed events from per-response templates are byte for byte the fully rendered ones."""

from __future__ import annotations

import orjson

from agenttrace_pipeline.simserver import openai_fmt as fmt


def test_template_events_equal_rendered_events():
    for chat in (True, False):
        for model in ("sim", f"odd {fmt.Chunker._MARK} name"):  # a model name holding the marker: rendered in full
            p = fmt.Parsed(chat, "prompt", 4, True, True, model)
            ev = fmt.Chunker(p, "cmpl-7", 1700000000)
            for finish in (None, "length"):
                for first in (True, False):
                    for text in ("abc", 'quote " and \\ back', "é\n", ""):
                        got = ev.event(text, finish, first)
                        assert got == fmt.chunk(p, "cmpl-7", 1700000000, text, finish, first)
                        body = orjson.loads(got[len(b"data: "):])
                        piece = body["choices"][0]["delta"]["content"] if chat else body["choices"][0]["text"]
                        assert piece == text and body["model"] == model
