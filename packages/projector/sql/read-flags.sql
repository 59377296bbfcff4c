-- What workers of a pool must know about their projections, refreshed every second.
-- A tripped projection is left alone like a paused one. updated_at: a change
-- (a reactor's replay) makes the runners reload the projection's checkpoints.
--   $1 text  pool
SELECT name, live_version, paused OR tripped_at IS NOT NULL AS paused, updated_at
FROM refract.projections WHERE pool = $1
