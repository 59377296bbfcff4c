-- One page of the log for verification, in position order.
--   $1 bigint  positions after this one   $2 int  at most this many rows
SELECT position, event_id::text AS event_id, stream_id, version, partition
FROM refract.events
WHERE position > $1
ORDER BY position
LIMIT $2
