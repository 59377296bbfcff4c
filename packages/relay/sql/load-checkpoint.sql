-- The relay's checkpoint, created at 0 on first use.
--   $1 text  relay name
WITH created AS (
  INSERT INTO refract.relay_checkpoints (name, position) VALUES ($1, 0)
  ON CONFLICT (name) DO NOTHING
  RETURNING position
)
SELECT position FROM created
UNION ALL
SELECT position FROM refract.relay_checkpoints WHERE name = $1
LIMIT 1
