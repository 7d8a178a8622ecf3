"""Columns of the two calibration tables (imported by ``store/tables.py``, so this module stays light)."""

from __future__ import annotations

import polars as pl

from agenttrace_pipeline.replay.report import RUN_COLUMNS

COMPARISON_COLUMNS: dict[str, pl.DataType] = {
    "comparison_id": pl.String(), "calibration_id": pl.String(), "preset": pl.String(), "side": pl.String(),
    "ttft_p90_ms": pl.Float64(), "ttft_p50_error": pl.Float64(), "ttft_p90_error": pl.Float64(),
    "e2e_p50_error": pl.Float64(), "hit_rate_error_pp": pl.Float64(), "within_targets": pl.Boolean(),
} | {k: v for k, v in RUN_COLUMNS.items() if k != "run_id"}

CALIBRATION_COLUMNS: dict[str, pl.DataType] = {
    "calibration_id": pl.String(), "preset": pl.String(), "endpoint_kind": pl.String(), "endpoint_url": pl.String(),
    "endpoint_model": pl.String(), "block_tokens": pl.Int64(), "capacity_blocks": pl.Int64(),
    "samples": pl.Int64(), "params": pl.String(), "prefill_r2": pl.Float64(), "prefill_rel_p50": pl.Float64(),
    "prefill_rel_p90": pl.Float64(), "decode_r2": pl.Float64(), "decode_rel_p50": pl.Float64(),
    "decode_rel_p90": pl.Float64(), "preset_path": pl.String(), "samples_sha256": pl.String(),
}
