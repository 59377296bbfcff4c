-- A process starts (or resumes) work on a rebuild or one of its shares.
--   $1 text  job id
-- Returns the row when the rebuild is still to be done, nothing when it has
-- already finished (completed, failed, cancelled).
UPDATE refract.rebuilds
SET state = 'active', started_at = coalesce(started_at, now())
WHERE job_id = $1 AND state IN ('waiting', 'active')
RETURNING *
