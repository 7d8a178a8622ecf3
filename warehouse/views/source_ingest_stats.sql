-- Per source: records read, accepted and quarantined, files, fingerprints, whether the bundled sample was used.
CREATE OR REPLACE VIEW source_ingest_stats AS
SELECT * FROM read_parquet('${lake}/source_ingest_stats/*/*.parquet', hive_partitioning = true);
