-- Adds a projection to the registry at `version`, or updates its pool; the
-- live version of a registered one is kept (only a swap changes it).
--   $1 text  projection   $2 text  pool   $3 int  version
-- Returns live_version.
INSERT INTO refract.projections (name, pool, live_version) VALUES ($1, $2, $3)
ON CONFLICT (name) DO UPDATE SET pool = EXCLUDED.pool
RETURNING live_version
