-- How far a relay has published (every position up to it is in Redis).
--   $1 text  relay name
-- Returns position; no row before the relay's first run.
SELECT position FROM refract.relay_checkpoints WHERE name = $1
