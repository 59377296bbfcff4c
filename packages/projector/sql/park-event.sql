-- Parks an event that failed every attempt, in the transaction that moves the
-- checkpoint past it.
--   $1 text  projection  $2 int  version  $3 int  partition  $4 bigint  position
--   $5 text  stream id   $6 text  event type  $7 text  error  $8 int  attempts
INSERT INTO refract.parked_events
  (projection, version, partition, position, stream_id, event_type, error, attempts)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (projection, version, position) DO NOTHING
