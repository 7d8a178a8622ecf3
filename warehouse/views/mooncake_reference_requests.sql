-- Every request of every ingested reference Mooncake trace (one Parquet file per trace).
CREATE OR REPLACE VIEW mooncake_reference_requests AS
SELECT * FROM read_parquet('${lake}/mooncake_reference_requests/*/*.parquet', hive_partitioning = true);
