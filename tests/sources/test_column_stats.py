import polars as pl
import pytest

from agenttrace_pipeline.sources.column_stats import column_median, number


def test_median_of_a_column_with_values_ignores_nulls():
    df = pl.DataFrame({"x": [1, None, 3, 10]})
    assert column_median(df, "x") == 3.0


@pytest.mark.parametrize("values", [[], [None, None]])
def test_a_column_without_values_has_no_median(values):
    assert column_median(pl.DataFrame({"x": values}, schema={"x": pl.Float64}), "x") is None


def test_a_non_numeric_aggregate_is_an_error_naming_what_was_aggregated():
    assert number(7, "max of prompt_tokens") == 7
    with pytest.raises(TypeError, match="max of prompt_tokens: expected a number, got None"):
        number(None, "max of prompt_tokens")
