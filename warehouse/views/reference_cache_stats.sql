-- Theoretical prefix-cache hit rates per reference trace and cache capacity (NULL = infinite).
CREATE OR REPLACE VIEW reference_cache_stats AS
SELECT * FROM read_parquet('${lake}/reference_cache_stats/*/*.parquet', hive_partitioning = true);
