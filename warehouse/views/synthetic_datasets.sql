-- One row per seed partition: the dataset's id, path, sha256, config digest, counts and the run that wrote it.
CREATE OR REPLACE VIEW synthetic_datasets AS
SELECT * FROM read_parquet('${lake}/synthetic_datasets/*/*.parquet', hive_partitioning = true);
