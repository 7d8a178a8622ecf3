-- Arrival rows as each source asset parsed them, by source.
CREATE OR REPLACE VIEW staged_arrivals AS
SELECT * FROM read_parquet('${lake}/staged_arrivals/*/*.parquet', hive_partitioning = true);
