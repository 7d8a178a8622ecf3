-- Per real source: traces, turns and the medians the fits start from.
SELECT source, count(DISTINCT trace_id) AS traces, count(*) AS turns,
       median(prompt_tokens) AS median_prompt, median(new_input_tokens) AS median_new_input,
       median(completion_tokens) AS median_output, median(gap_before_ms) AS median_gap_ms
FROM agent_turns
GROUP BY 1
ORDER BY 1;
