-- An operator approves a held rebuild: it goes back to the queue, and its
-- next run catches v+1 up and swaps without holding again.
--   $1 text  job id
-- Returns the row when it was verifying (and not being cancelled), else nothing.
UPDATE refract.rebuilds SET state = 'waiting', approved = true
WHERE job_id = $1 AND state = 'verifying' AND NOT cancel_requested
RETURNING *
