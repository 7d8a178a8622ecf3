-- Tool invocations with timing, exit code and resource telemetry where the source has them, by source.
CREATE OR REPLACE VIEW tool_spans AS
SELECT * FROM read_parquet('${lake}/tool_spans/*/*.parquet', hive_partitioning = true);
