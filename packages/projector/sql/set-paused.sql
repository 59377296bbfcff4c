-- Pauses or resumes a projection; workers honour it at their next heartbeat.
-- updated_at marks the change, so a resumed projection is not taken for
-- stalled while its workers pick it up again.
--   $1 text  projection   $2 boolean  paused
-- Returns the projection's row, none when it is not registered.
UPDATE refract.projections SET paused = $2, updated_at = now()
WHERE name = $1
RETURNING name, pool, live_version, paused
