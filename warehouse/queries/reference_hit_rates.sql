-- Infinite-cache and LRU prefix hit rates of the reference traces, in percent.
SELECT trace, coalesce(CAST(capacity_blocks AS VARCHAR), 'infinite') AS cache, requests,
       round(100 * hit_rate, 2) AS hit_rate_pct
FROM reference_cache_stats
ORDER BY trace, capacity_blocks NULLS FIRST;
