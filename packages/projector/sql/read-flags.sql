-- What workers of a pool must know about their projections, refreshed every second.
-- A tripped projection is left alone like a paused one.
--   $1 text  pool
SELECT name, live_version, paused OR tripped_at IS NOT NULL AS paused
FROM refract.projections WHERE pool = $1
