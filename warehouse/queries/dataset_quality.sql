-- Fidelity of every generated dataset: percent error of mean and median per targeted metric.
SELECT seed, dataset_id, metric, round(pct_error_mean, 2) AS err_mean_pct, round(pct_error_median, 2) AS err_median_pct, count
FROM dataset_quality
WHERE target_mean IS NOT NULL
ORDER BY seed, metric;
