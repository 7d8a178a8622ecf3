-- Round trip of each profile: two-sample KS between source and 5,000 generated sessions, beside AIPerf's mean/median lognormals.
CREATE OR REPLACE VIEW profile_roundtrip AS
SELECT * FROM read_parquet('${lake}/profile_roundtrip/*/*.parquet', hive_partitioning = true);
