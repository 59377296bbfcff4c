-- Raises the cancel flag of a rebuild that has not finished; every process
-- working on it polls the flag between batches.
--   $1 text  job id
-- Returns the row when the flag was raised, nothing when it had finished.
UPDATE refract.rebuilds SET cancel_requested = true
WHERE job_id = $1 AND state IN ('waiting', 'active', 'verifying')
RETURNING *
