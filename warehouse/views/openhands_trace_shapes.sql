-- Per OpenHands trajectory: turns, tokens per step, tool-call counts and mix, durations.
CREATE OR REPLACE VIEW openhands_trace_shapes AS
SELECT * FROM read_parquet('${lake}/openhands_trace_shapes/*/*.parquet', hive_partitioning = true);
