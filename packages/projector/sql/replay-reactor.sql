-- Moves a reactor's live checkpoints back so that events from `$2` on are
-- handled again; checkpoints already before that stay. Marks its registry
-- row changed and notifies the workers, which reload its checkpoints at
-- once (a batch already under way finds its checkpoint moved and reloads).
--   $1 text  reactor   $2 bigint  the first position to handle again
--   $3 text  the workers' channel
-- Returns the partitions moved.
WITH moved AS (
  UPDATE refract.projection_checkpoints AS c
  SET position = greatest($2::bigint - 1, 0), updated_at = now()
  FROM refract.projections AS p
  WHERE p.name = $1 AND c.projection = p.name AND c.version = p.live_version
    AND c.position > greatest($2::bigint - 1, 0)
  RETURNING c.partition
),
touched AS (
  UPDATE refract.projections SET updated_at = clock_timestamp()
  WHERE name = $1 AND EXISTS (SELECT 1 FROM moved)
  RETURNING pg_notify($3, name)
)
SELECT m.partition FROM moved AS m LEFT JOIN touched ON true
