-- One row per generated session: group, restart flag, turns, initial context, end reason, timing and token totals, by seed.
CREATE OR REPLACE VIEW synthetic_sessions AS
SELECT * FROM read_parquet('${lake}/synthetic_sessions/*/*.parquet', hive_partitioning = true);
