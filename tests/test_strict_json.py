"""Duplicate JSON keys are rejected everywhere the project parses JSON, without slowing clean input."""

from __future__ import annotations

import json

import pytest

from agenttrace_pipeline.strict_json import DuplicateKeyError, loads


@pytest.mark.parametrize("text", [
    b'{"output_length": 12, "input_length": 5, "output_length": 999}',
    b'{"output_length": 12, "x": 1, "output_length" : 999}',   # whitespace before the colon
    b'{"u": {"a": 1, "a": 2}}',                                 # nested
    b'[{"k": 1}, {"k": 2, "k": 3}]',                            # inside a list
    b'{"msg": "quoted \\": colon", "a": 1, "a": 2}',             # a value that looks like a key
])
def test_a_repeated_key_is_an_error_naming_it(text: bytes):
    with pytest.raises(DuplicateKeyError) as exc:
        loads(text)
    assert exc.value.key in {"output_length", "a", "k"}


@pytest.mark.parametrize("text", [
    b'{"session_id": "s", "input_length": 1, "hash_ids": [1, 2]}',
    b'{"msg": "he said \\"x\\": y", "b": {"c": "\\":"}}',
    b'{"a":\n  1, "b"\t: [{"a": 1}, {"a": 2}]}',                 # the same key in sibling objects is fine
    b'"just a string"', b"[1, 2, 3]", b"{}",
])
def test_clean_json_parses_as_orjson_does(text: bytes):
    assert loads(text) == json.loads(text)


def test_invalid_json_is_still_a_value_error():
    with pytest.raises(ValueError):
        loads(b'{"a": ')
