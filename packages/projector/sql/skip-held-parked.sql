-- Skips one event held behind a stream's open parked event, alone: it
-- leaves `held` and gets a row of its own, resolved as skipped.
--   $1 bigint  id of the stream's open row   $2 bigint  the held position
--   $3 text  its event type   $4 text  the error it is listed with
WITH dropped AS (
  UPDATE refract.parked_events SET held = array_remove(held, $2)
  WHERE id = $1
  RETURNING projection, version, partition, stream_id, position
)
INSERT INTO refract.parked_events
  (projection, version, partition, position, stream_id, event_type, error, attempts,
   resolution, resolved_at, behind)
SELECT projection, version, partition, $2, stream_id, $3, $4, 0, 'skipped', now(), position
FROM dropped
RETURNING *
