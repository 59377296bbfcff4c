-- Resolves an open parked event as skipped.
--   $1 bigint  id   $2 text  projection
-- Returns the row; none when it is missing or already resolved.
UPDATE refract.parked_events SET resolution = 'skipped', resolved_at = now()
WHERE id = $1 AND projection = $2 AND resolution IS NULL RETURNING *
