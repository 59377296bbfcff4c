-- The completeness audit's counts for one projection version, per
-- partition: its checkpoint and applied count, where the last complete
-- audit left it, and the events of handled types in the log after that,
-- up to the checkpoint. Each is one range on events_partition_position_idx
-- (the type is checked on the rows of the range): an incremental audit reads
-- only what the log gained since the last audit that found the partition
-- complete; a full one everything since the applied count started.
--   $1 text  projection   $2 int  version   $3 text[]  the handled event types
--   $4 boolean  full
-- Returns partition, checkpoint, applied, complete_through (where counting
-- starts), applied_at_complete (the applied count there), logged.
SELECT c.partition, c.position AS checkpoint, c.applied_events AS applied,
       b.complete_through, b.applied_at_complete, n.logged
FROM refract.projection_checkpoints AS c
LEFT JOIN refract.projection_audits AS a
  ON a.projection = c.projection AND a.version = c.version AND a.partition = c.partition
CROSS JOIN LATERAL (
  SELECT CASE WHEN $4 THEN coalesce(a.counted_from, 0) ELSE coalesce(a.complete_through, 0) END AS complete_through,
         CASE WHEN $4 THEN 0 ELSE coalesce(a.applied_at_complete, 0) END AS applied_at_complete
) AS b
CROSS JOIN LATERAL (
  SELECT count(*) AS logged
  FROM refract.events AS e
  WHERE e.partition = c.partition
    AND e.position > b.complete_through AND e.position <= c.position
    AND e.type = ANY ($3::text[])
) AS n
WHERE c.projection = $1 AND c.version = $2
ORDER BY c.partition
