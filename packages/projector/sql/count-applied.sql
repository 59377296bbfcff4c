-- Events applied between two samples of some partition checkpoints: the
-- events of each partition in (from, to]. One range on
-- events_partition_position_idx per partition that moved.
--   $1 int[]  partitions   $2 bigint[]  earlier checkpoints   $3 bigint[]  later checkpoints
--   $4 int    count at most this many per partition
-- Returns partition, applied.
SELECT w.partition, n.applied
FROM unnest($1::int[], $2::bigint[], $3::bigint[]) AS w (partition, from_position, to_position)
CROSS JOIN LATERAL (
  SELECT count(*) AS applied FROM (
    SELECT 1 FROM refract.events e
    WHERE e.partition = w.partition AND e.position > w.from_position AND e.position <= w.to_position
    LIMIT $4
  ) AS moved
) n
