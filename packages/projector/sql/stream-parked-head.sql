-- The first open parked event of one stream of a projection (the one its
-- quarantine waits on), on parked_events_open_stream_idx.
--   $1 text  projection   $2 text  stream id
SELECT id FROM refract.parked_events
WHERE projection = $1 AND stream_id = $2 AND resolution IS NULL
ORDER BY version DESC, position
LIMIT 1
