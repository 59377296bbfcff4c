-- Which of a batch's streams are quarantined in one partition of a projection
-- version, with the position of each one's first open parked event, and one
-- more row (stream_id NULL) while the partition has any open parked event at
-- all. Sent in a batch transaction after its checkpoint compare-and-set,
-- which waits for any retry or skip holding the checkpoint row, so what it
-- reads is final for the batch. Only the batch's streams: the partition's
-- parked events grow with a poison flood, the batch does not. On
-- parked_events_open_stream_idx.
--   $1 text  projection   $2 int  version   $3 int  partition   $4 text[]  stream ids
SELECT stream_id, min(position) AS head
FROM refract.parked_events
WHERE projection = $1 AND version = $2 AND partition = $3 AND resolution IS NULL
  AND stream_id = ANY($4::text[])
GROUP BY stream_id
UNION ALL
SELECT NULL, NULL
WHERE EXISTS (
  SELECT 1 FROM refract.parked_events
  WHERE projection = $1 AND version = $2 AND partition = $3 AND resolution IS NULL
)
