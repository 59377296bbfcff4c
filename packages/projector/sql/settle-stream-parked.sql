-- After a replay of a quarantined stream: its open row is resolved (as
-- `retried`, unless already skipped) keeping in `held` the events released
-- with it; the first held event that failed again, if any, gets an open row
-- of its own with its error, holding the rest.
--   $1 bigint  id of the stream's open row   $2 text  resolution if still open
--   $3 bigint[]  held positions applied
--   $4 bigint  position of the new head (NULL: none)  $5 text  its error
--   $6 text  its event type   $7 bigint[]  positions still held behind it
WITH settled AS (
  UPDATE refract.parked_events
  SET held = $3, resolution = coalesce(resolution, $2), resolved_at = coalesce(resolved_at, now())
  WHERE id = $1
  RETURNING projection, version, partition, stream_id
)
INSERT INTO refract.parked_events
  (projection, version, partition, position, stream_id, event_type, error, attempts, held)
SELECT projection, version, partition, $4, stream_id, $6, $5, 1, $7
FROM settled WHERE $4::bigint IS NOT NULL
