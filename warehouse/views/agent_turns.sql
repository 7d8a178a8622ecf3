-- Canonical turns (one per LLM call of a real trace) that passed the checks, by source.
CREATE OR REPLACE VIEW agent_turns AS
SELECT * FROM read_parquet('${lake}/agent_turns/*/*.parquet', hive_partitioning = true);
