-- The partitions where a counter projection's live version has not yet
-- applied events that the new version has (its checkpoints are in Redis, so
-- they come in): a checkpoint behind with no handled event in between is at
-- the same state, so it does not count.
--   $1 int[]  partitions   $2 bigint[]  the live version's checkpoint of each
--   $3 bigint[]  the new version's checkpoint of each   $4 text[]  handled types
-- Returns the partitions still behind.
SELECT t.partition
FROM unnest($1::int[], $2::bigint[], $3::bigint[]) AS t(partition, at, target)
WHERE t.at < t.target
  AND EXISTS (
    SELECT 1 FROM refract.events e
    WHERE e.partition = t.partition AND e.position > t.at AND e.position <= t.target
      AND e.type = ANY ($4))
