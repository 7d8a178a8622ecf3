-- One row per materialisation of an asset (partition), appended by every run.
CREATE TABLE IF NOT EXISTS lineage (
    asset_key          VARCHAR     NOT NULL,  -- e.g. 'mooncake_reference_traces'
    partition_key      VARCHAR,               -- NULL for unpartitioned assets
    run_id             VARCHAR     NOT NULL,  -- Dagster run id (or 'cli-…' for CLI runs)
    code_version       VARCHAR     NOT NULL,  -- package version + source digest
    input_fingerprints JSON        NOT NULL,  -- {"name": "sha256", …} of upstream files/configs
    output_fingerprint VARCHAR     NOT NULL,  -- sha256 over the written outputs
    row_count          BIGINT      NOT NULL,
    output_paths       JSON        NOT NULL,  -- files this materialisation wrote
    materialized_at    TIMESTAMPTZ NOT NULL   -- UTC
);
