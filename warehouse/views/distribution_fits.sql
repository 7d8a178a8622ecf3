-- Every candidate fit per (source, quantity): family, params (JSON), CI, n, loglik, AIC, BIC, KS, AD, chosen, fit_id, by source.
CREATE OR REPLACE VIEW distribution_fits AS
SELECT * FROM read_parquet('${lake}/distribution_fits/*/*.parquet', hive_partitioning = true);
