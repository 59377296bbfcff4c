-- Locks a projection's registry row: version changes (a swap, a drop) of one
-- projection take turns.
--   $1 text  projection
-- Returns live_version; no row when it is not registered.
SELECT live_version FROM refract.projections WHERE name = $1 FOR UPDATE
