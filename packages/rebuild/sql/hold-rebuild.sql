-- Holds a rebuild whose comparison found undeclared differences: v+1 is kept,
-- v stays live, and the report waits for an operator's approve or cancel.
--   $1 text  job id   $2 jsonb  the cutover report
-- Returns the row when it was held, nothing when it had finished.
UPDATE refract.rebuilds SET state = 'verifying', cutover_report = $2
WHERE job_id = $1 AND state IN ('waiting', 'active')
RETURNING *
