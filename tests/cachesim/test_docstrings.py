from __future__ import annotations

import doctest

import pytest

from agenttrace_pipeline.cachesim import blocks, simulate


@pytest.mark.parametrize("module", [blocks, simulate], ids=lambda m: m.__name__)
def test_docstring_examples_hold(module):
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0
