-- The registry row of one projection, locked: a rebuild's swap holds it until it commits.
--   $1 text  projection
SELECT live_version FROM refract.projections WHERE name = $1 FOR UPDATE
