-- Which of a batch's streams are quarantined in some partitions of a
-- projection version, with the position of each one's open parked event
-- (the one its later events are held behind), and one more row per
-- partition (stream_id NULL) that has any open parked event at all. Sent in
-- a batch transaction after its checkpoint compare-and-set, which waits for
-- any retry or skip holding the checkpoint rows, so what it reads is final
-- for the batch. Only the batch's streams: the partitions' quarantines grow
-- with a poison flood, the batch does not. On parked_events_open_stream_idx.
--   $1 text  projection   $2 int  version   $3 int[]  partitions
--   $4 text[]  stream ids   $5 int[]  their partitions
-- Key lookups per stream and per partition (OFFSET 0 and LIMIT keep the
-- planner from flattening them into a scan of every open row of the version,
-- which it chose on a table grown faster than its statistics).
SELECT q.partition, s.stream_id, q.head
FROM unnest($4::text[], $5::int[]) AS s (stream_id, partition)
CROSS JOIN LATERAL (
  SELECT p.partition, min(p.position) AS head
  FROM refract.parked_events AS p
  WHERE p.projection = $1 AND p.version = $2 AND p.partition = s.partition
    AND p.stream_id = s.stream_id AND p.resolution IS NULL
  GROUP BY p.partition
  OFFSET 0
) AS q
UNION ALL
SELECT w.partition, NULL, NULL
FROM unnest($3::int[]) AS w (partition)
CROSS JOIN LATERAL (
  SELECT 1 FROM refract.parked_events AS p
  WHERE p.projection = $1 AND p.version = $2 AND p.partition = w.partition
    AND p.resolution IS NULL
  LIMIT 1
) AS x
