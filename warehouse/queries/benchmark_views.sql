-- Views joining every stage through their ids: sources -> fits -> profiles -> datasets -> simulations -> replays.
-- Made as temporary views on a reader's connection by agenttrace_pipeline/reports/benchmark_data.py
-- (`agenttrace report`, the benchmark_report asset); each statement ends with ';' on its own line end.

-- The latest lineage record of every asset partition (older ones stay until `agenttrace gc`).
CREATE OR REPLACE TEMP VIEW bm_latest_lineage AS
SELECT * FROM lineage
QUALIFY row_number() OVER (PARTITION BY asset_key, partition_key ORDER BY materialized_at DESC) = 1;

-- Every input file of every source with its sha256, from the latest `<source>_raw` materialisation.
CREATE OR REPLACE TEMP VIEW bm_source_files AS
SELECT regexp_replace(asset_key, '_raw$', '') AS source, e.key AS file, e.value AS sha256, run_id, materialized_at
FROM bm_latest_lineage, unnest(map_entries(CAST(input_fingerprints::JSON AS MAP(VARCHAR, VARCHAR)))) AS t(e)
WHERE asset_key LIKE '%\_raw' ESCAPE '\';

-- The chosen fit of every (source, quantity), in-sample and held-out KS.
CREATE OR REPLACE TEMP VIEW bm_chosen_fits AS
SELECT source, quantity, family, fit_id, n, ks AS ks_in_sample, ks_heldout, ks_noise_floor, confidence
FROM distribution_fits WHERE chosen;

-- Which sources each exported profile was fitted from.
CREATE OR REPLACE TEMP VIEW bm_profile_sources AS
SELECT profile, unnest(CAST(sources::JSON AS VARCHAR[])) AS source, confidence, fit_ids
FROM generator_profiles;

-- Every dataset with its profile and, for a fitted profile, its sources and their files (NULL for bundled ones).
CREATE OR REPLACE TEMP VIEW bm_dataset_sources AS
SELECT d.seed, d.dataset_id, d.profile, d.config_sha256, d.dataset_sha256, d.path, ps.source, sf.file, sf.sha256
FROM synthetic_datasets d
LEFT JOIN bm_profile_sources ps ON ps.profile = d.profile
LEFT JOIN bm_source_files sf ON sf.source = ps.source;

-- The hit rate the real traces behind a profile show (cached / prompt tokens of their LLM calls).
CREATE OR REPLACE TEMP VIEW bm_real_hit_rates AS
SELECT ps.profile, sum(t.cached_tokens) / sum(t.prompt_tokens) AS real_hit_rate, count(t.cached_tokens) AS calls
FROM bm_profile_sources ps JOIN agent_turns t ON t.source = ps.source
WHERE t.cached_tokens IS NOT NULL AND t.prompt_tokens > 0
GROUP BY ps.profile;

-- One row per dataset (and replay, when there is one): simulated, served and real hit rates side by side.
CREATE OR REPLACE TEMP VIEW bm_hit_rates AS
SELECT d.seed, d.dataset_id, d.profile, r.replay_id, r.endpoint_name,
       s.hit_rate AS simulated_infinite_cache, r.hit_rate_simulator AS replay_simulator,
       r.hit_rate_server_counters AS served_server_counters, r.hit_rate_usage AS served_usage,
       rh.real_hit_rate
FROM synthetic_datasets d
LEFT JOIN cache_simulation s ON s.seed = d.seed AND s.dataset_id = d.dataset_id AND s.policy = 'infinite'
     AND s.tier = 'all' AND s.layer = 'all'
LEFT JOIN replay_runs r ON r.seed = d.seed AND r.dataset_id = d.dataset_id
LEFT JOIN bm_real_hit_rates rh ON rh.profile = d.profile;

-- Latency percentiles of every replay's requests, per seed and endpoint.
CREATE OR REPLACE TEMP VIEW bm_latency AS
SELECT q.seed, r.endpoint_name, q.replay_id, count(*) AS requests,
       quantile_cont(q.ttft_ms, 0.5) AS ttft_p50_ms, quantile_cont(q.ttft_ms, 0.9) AS ttft_p90_ms,
       quantile_cont(q.ttft_ms, 0.99) AS ttft_p99_ms, quantile_cont(q.e2e_ms, 0.5) AS e2e_p50_ms,
       quantile_cont(q.e2e_ms, 0.99) AS e2e_p99_ms
FROM replay_requests q JOIN replay_runs r ON r.replay_id = q.replay_id AND r.seed = q.seed
WHERE q.error IS NULL AND NOT q.warmup
GROUP BY ALL;

-- The materialisations of each seed's dataset, simulation, pages and replay, with their fingerprints.
CREATE OR REPLACE TEMP VIEW bm_seed_lineage AS
SELECT TRY_CAST(partition_key AS BIGINT) AS seed, asset_key, run_id, code_version, input_fingerprints,
       output_fingerprint, row_count, materialized_at
FROM bm_latest_lineage
WHERE asset_key IN ('synthetic_dataset', 'dataset_quality', 'cache_simulation', 'dataset_pages', 'replay_run');
