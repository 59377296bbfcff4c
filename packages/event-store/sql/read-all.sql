-- Reads the log in position order, for catch-up readers and rebuilds.
--   $1 bigint  return positions after this one
--   $2 bigint  up to and including this position (NULL: no bound)
--   $3 int[]   only these partitions (NULL: all)
--   $4 text[]  only these event types (NULL: all)
--   $5 int     at most this many events
-- Not commit-order safe on its own: a position below the newest visible one
-- may still be committed later. The relay decides what is safe to publish.
SELECT position, stream_id, version, partition, event_id, type, schema_version, data, metadata,
       created_at
FROM refract.events
WHERE position > $1
  AND ($2::bigint IS NULL OR position <= $2)
  AND ($3::int[] IS NULL OR partition = ANY ($3))
  AND ($4::text[] IS NULL OR type = ANY ($4))
ORDER BY position
LIMIT $5
