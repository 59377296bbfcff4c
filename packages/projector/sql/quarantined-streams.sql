-- The quarantined streams of one partition of a projection version, with the
-- position of each one's first open parked event. Sent in a batch
-- transaction after its checkpoint compare-and-set, which waits for any
-- retry or skip holding the checkpoint row, so what it reads is final for
-- the batch. On parked_events_open_stream_idx.
--   $1 text  projection   $2 int  version   $3 int  partition
SELECT stream_id, min(position) AS head
FROM refract.parked_events
WHERE projection = $1 AND version = $2 AND partition = $3 AND resolution IS NULL
GROUP BY stream_id
