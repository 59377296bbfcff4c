-- Ends a rebuild, once: a finished row is never changed again.
--   $1 text  job id   $2 text  completed | failed | cancelled   $3 text  error or null
--   $4 float  swap pause in ms or null   $5 bigint  final processed count or null (keep)
--   $6 bigint  final total or null (keep)
UPDATE refract.rebuilds
SET state = $2, error = $3, swap_pause_ms = $4,
    processed = coalesce($5, processed), total = coalesce($6, total), finished_at = now()
WHERE job_id = $1 AND state IN ('waiting', 'active', 'verifying')
RETURNING *
