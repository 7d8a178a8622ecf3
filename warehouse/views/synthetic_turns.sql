-- One row per request of every generated dataset (trace-table columns + dataset_id, run_id), by seed.
CREATE OR REPLACE VIEW synthetic_turns AS
SELECT * FROM read_parquet('${lake}/synthetic_turns/*/*.parquet', hive_partitioning = true);
