-- Target vs observed mean/median (and percentiles) of every metric of every generated dataset, by seed.
CREATE OR REPLACE VIEW dataset_quality AS
SELECT * FROM read_parquet('${lake}/dataset_quality/*/*.parquet', hive_partitioning = true);
