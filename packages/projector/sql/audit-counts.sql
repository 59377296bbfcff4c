-- The completeness audit's counts for one projection version, per
-- partition: its checkpoint and applied count, where the last complete
-- audit left it, and the events of handled types in the log after that,
-- up to the checkpoint. Each is one range on events_partition_position_idx
-- (the type is checked on the rows of the range): an audit reads only what
-- the log gained since the last audit that found the partition complete.
--   $1 text  projection   $2 int  version   $3 text[]  the handled event types
-- Returns partition, checkpoint, applied, complete_through, applied_at_complete, logged.
SELECT c.partition, c.position AS checkpoint, c.applied_events AS applied,
       coalesce(a.complete_through, 0) AS complete_through,
       coalesce(a.applied_at_complete, 0) AS applied_at_complete,
       n.logged
FROM refract.projection_checkpoints AS c
LEFT JOIN refract.projection_audits AS a
  ON a.projection = c.projection AND a.version = c.version AND a.partition = c.partition
CROSS JOIN LATERAL (
  SELECT count(*) AS logged
  FROM refract.events AS e
  WHERE e.partition = c.partition
    AND e.position > coalesce(a.complete_through, 0) AND e.position <= c.position
    AND e.type = ANY ($3::text[])
) AS n
WHERE c.projection = $1 AND c.version = $2
ORDER BY c.partition
