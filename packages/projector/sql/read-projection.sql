-- One projection of the registry.
--   $1 text  projection
-- Returns name, pool, live_version, paused, tripped_at, trip_reason; none
-- when it is not registered.
SELECT name, pool, live_version, paused, tripped_at, trip_reason
FROM refract.projections WHERE name = $1
