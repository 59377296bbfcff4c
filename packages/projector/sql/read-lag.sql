-- How far every live projection version is behind the log, per partition.
-- Every lookup into refract.events is a range on events_partition_position_idx
-- (partition, position); nothing scans the whole log.
--   $1 int  count unapplied events exactly up to this many per partition
-- Returns one row per (projection, partition) of the live version, and one
-- with partition NULL for a projection without Postgres checkpoints (a
-- counter projection keeps them in Redis):
--   projection, pool, version, paused, partition, checkpoint, halted_at,
--   head (last position of the partition, 0 when empty),
--   lag (unapplied events, at most $1), oldest_age_s (seconds since the
--   oldest unapplied event was appended, NULL when none), stuck_s (seconds the
--   partition has had unapplied events while its checkpoint stood still and
--   the projection was not paused or resumed, NULL when none), and now (the
--   database clock the ages are measured on).
SELECT p.name AS projection, p.pool, p.live_version AS version, p.paused,
       c.partition, c.position AS checkpoint, c.halted_at,
       coalesce(h.head, 0) AS head,
       coalesce(n.lag, 0) AS lag,
       extract(epoch FROM now() - o.created_at)::float8 AS oldest_age_s,
       extract(epoch FROM now() - greatest(o.created_at, c.updated_at, p.updated_at))::float8 AS stuck_s,
       now() AS now
FROM refract.projections p
LEFT JOIN refract.projection_checkpoints c ON c.projection = p.name AND c.version = p.live_version
LEFT JOIN LATERAL (
  SELECT max(e.position) AS head FROM refract.events e WHERE e.partition = c.partition
) h ON true
LEFT JOIN LATERAL (
  SELECT e.created_at FROM refract.events e
  WHERE e.partition = c.partition AND e.position > c.position
  ORDER BY e.position LIMIT 1
) o ON true
LEFT JOIN LATERAL (
  SELECT count(*) AS lag FROM (
    SELECT 1 FROM refract.events e
    WHERE e.partition = c.partition AND e.position > c.position
    LIMIT $1
  ) AS unapplied
) n ON true
ORDER BY p.name, c.partition
