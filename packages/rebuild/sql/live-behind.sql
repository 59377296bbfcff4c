-- The partitions where the live version has not yet applied events that the
-- new version has: a checkpoint behind the new version's with no handled
-- event in between is at the same state, so it does not count.
--   $1 text  projection   $2 int  live version   $3 int[]  partitions
--   $4 bigint[]  the new version's checkpoint of each   $5 text[]  handled types
-- Returns the partitions still behind.
SELECT c.partition
FROM refract.projection_checkpoints c
JOIN unnest($3::int[], $4::bigint[]) AS t(partition, target) ON t.partition = c.partition
WHERE c.projection = $1 AND c.version = $2 AND c.position < t.target
  AND EXISTS (
    SELECT 1 FROM refract.events e
    WHERE e.partition = c.partition AND e.position > c.position AND e.position <= t.target
      AND e.type = ANY ($5))
