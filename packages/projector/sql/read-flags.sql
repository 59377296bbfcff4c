-- What workers of a pool must know about their projections, refreshed every second.
--   $1 text  pool
SELECT name, live_version, paused FROM refract.projections WHERE pool = $1
