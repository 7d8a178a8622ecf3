-- How generated sessions end, per seed.
SELECT seed, end_reason, count(*) AS sessions, round(avg(turns), 1) AS mean_turns
FROM synthetic_sessions
GROUP BY ALL
ORDER BY seed, sessions DESC;
