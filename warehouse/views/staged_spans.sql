-- Tool spans as each source asset parsed them, by source.
CREATE OR REPLACE VIEW staged_spans AS
SELECT * FROM read_parquet('${lake}/staged_spans/*/*.parquet', hive_partitioning = true);
