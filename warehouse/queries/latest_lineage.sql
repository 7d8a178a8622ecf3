-- The latest materialisation of every asset partition, with its fingerprints.
SELECT asset_key, partition_key, run_id, code_version, row_count, output_fingerprint, materialized_at
FROM lineage
QUALIFY row_number() OVER (PARTITION BY asset_key, partition_key ORDER BY materialized_at DESC) = 1
ORDER BY asset_key, partition_key;
