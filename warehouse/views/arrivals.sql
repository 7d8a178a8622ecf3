-- Request arrivals of arrival-only traces (Azure, Mooncake): ms from the file's first request, tokens, by source.
CREATE OR REPLACE VIEW arrivals AS
SELECT * FROM read_parquet('${lake}/arrivals/*/*.parquet', hive_partitioning = true);
