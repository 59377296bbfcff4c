-- One projection of the registry.
--   $1 text  projection
-- Returns name, pool, live_version, paused; none when it is not registered.
SELECT name, pool, live_version, paused FROM refract.projections WHERE name = $1
