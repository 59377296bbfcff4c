-- Trips a projection version whose open parked events exceed its threshold:
-- its workers leave it (read-flags.sql) until it is resumed. The count is
-- the sum of its partitions' parked_open (kept by a trigger on
-- parked_events), not a count of the parked rows. Returns the row only the
-- first time, so the trip is logged once.
--   $1 text  projection   $2 int  version   $3 int  threshold
UPDATE refract.projections
SET tripped_at = now(), updated_at = now(),
    trip_reason = format('more than %s events parked', $3)
WHERE name = $1 AND live_version = $2 AND tripped_at IS NULL
  AND (
    SELECT sum(parked_open) FROM refract.projection_checkpoints
    WHERE projection = $1 AND version = $2
  ) > $3
RETURNING name, trip_reason
