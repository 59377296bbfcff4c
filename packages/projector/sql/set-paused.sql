-- Pauses or resumes a projection; workers honour it at their next heartbeat.
-- updated_at marks the change, so a resumed projection is not taken for
-- stalled while its workers pick it up again. Resuming also clears a trip.
--   $1 text  projection   $2 boolean  paused
-- Returns the projection's row, none when it is not registered.
UPDATE refract.projections
SET paused = $2, updated_at = now(),
    tripped_at = CASE WHEN $2 THEN tripped_at END,
    trip_reason = CASE WHEN $2 THEN trip_reason END
WHERE name = $1
RETURNING name, pool, live_version, paused, tripped_at, trip_reason
