-- Which of a batch's streams are quarantined in some partitions of a
-- projection version, with the position of each one's open parked event
-- (the one its later events are held behind), and one more row per
-- partition (stream_id NULL) that has any open parked event at all. Sent in
-- a batch transaction after its checkpoint compare-and-set, which waits for
-- any retry or skip holding the checkpoint rows, so what it reads is final
-- for the batch. Only the batch's streams: the partitions' quarantines grow
-- with a poison flood, the batch does not. On parked_events_open_stream_idx.
--   $1 text  projection   $2 int  version   $3 int[]  partitions   $4 text[]  stream ids
SELECT partition, stream_id, min(position) AS head
FROM refract.parked_events
WHERE projection = $1 AND version = $2 AND partition = ANY($3::int[]) AND resolution IS NULL
  AND stream_id = ANY($4::text[])
GROUP BY partition, stream_id
UNION ALL
SELECT w.partition, NULL, NULL
FROM unnest($3::int[]) AS w (partition)
WHERE EXISTS (
  SELECT 1 FROM refract.parked_events
  WHERE projection = $1 AND version = $2 AND partition = w.partition AND resolution IS NULL
)
