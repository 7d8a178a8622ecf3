-- Canonical turns as each source asset parsed them (before the checks), by source.
CREATE OR REPLACE VIEW staged_turns AS
SELECT * FROM read_parquet('${lake}/staged_turns/*/*.parquet', hive_partitioning = true);
