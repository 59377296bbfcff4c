-- Adds what one process applied since its last report. Deltas, so that the
-- shares of a flow and the attempts after a crash sum up.
--   $1 text  job id   $2 bigint  events applied since the last report
--   $3 bigint  events of the handled types in the log now
-- Returns cancel_requested.
UPDATE refract.rebuilds
SET processed = processed + $2, total = greatest(total, $3)
WHERE job_id = $1
RETURNING cancel_requested
