-- Every record a source adapter rejected: source, file, record (line or key), reason.
CREATE OR REPLACE VIEW quarantine AS
SELECT * FROM read_parquet('${lake}/quarantine/*/*.parquet', hive_partitioning = true);
