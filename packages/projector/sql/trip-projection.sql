-- Trips a projection version whose open parked events exceed its threshold:
-- its workers leave it (read-flags.sql) until it is resumed. Counts at most
-- threshold + 1 rows, on parked_events_open_idx. Returns the row only the
-- first time, so the trip is logged once.
--   $1 text  projection   $2 int  version   $3 int  threshold
UPDATE refract.projections
SET tripped_at = now(), updated_at = now(),
    trip_reason = format('more than %s events parked', $3)
WHERE name = $1 AND live_version = $2 AND tripped_at IS NULL
  AND (
    SELECT count(*) FROM (
      SELECT 1 FROM refract.parked_events
      WHERE projection = $1 AND version = $2 AND resolution IS NULL
      LIMIT $3::bigint + 1
    ) AS open
  ) > $3
RETURNING name, trip_reason
