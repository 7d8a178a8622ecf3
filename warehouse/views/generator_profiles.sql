-- The exported generator profiles: name, source, path, config JSON, fit ids and source fingerprints.
CREATE OR REPLACE VIEW generator_profiles AS
SELECT * FROM read_parquet('${lake}/generator_profiles/*/*.parquet', hive_partitioning = true);
