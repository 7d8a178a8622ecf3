-- One row per real trace: turns, prompt sizes, token totals, LLM/tool/gap time, tool calls and errors.
CREATE OR REPLACE VIEW agent_sessions AS
SELECT * FROM read_parquet('${lake}/agent_sessions/*/*.parquet', hive_partitioning = true);
