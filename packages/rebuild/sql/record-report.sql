-- Keeps the comparison of a rebuild that swaps (identical, or every
-- difference declared) with its row.
--   $1 text  job id   $2 jsonb  the cutover report
UPDATE refract.rebuilds SET cutover_report = $2 WHERE job_id = $1
