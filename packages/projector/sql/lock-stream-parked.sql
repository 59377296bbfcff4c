-- The open parked rows of one stream of a projection version, in order,
-- locked: the one its quarantine waits on, with the positions held behind
-- it. On parked_events_open_stream_idx.
--   $1 text  projection   $2 int  version   $3 int  partition   $4 text  stream id
SELECT * FROM refract.parked_events
WHERE projection = $1 AND version = $2 AND partition = $3 AND stream_id = $4
  AND resolution IS NULL
ORDER BY position
FOR UPDATE
