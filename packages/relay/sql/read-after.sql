-- Reads the visible events after the relay's checkpoint, together with the
-- snapshot the read used, in one statement so both describe the same moment.
--   $1 bigint  the relay's checkpoint (every position up to it is done)
--   $2 int     at most this many events
-- Returns at least one row: snapshot (pg_snapshot as text, "xmin:xmax:xip,...")
-- and, when there are events, position, partition and the envelope as JSON
-- text (built here so Node passes it on without parsing and re-serialising).
SELECT s.snap::text AS snapshot, e.position, e.partition, e.envelope
FROM (SELECT pg_current_snapshot() AS snap) AS s
LEFT JOIN LATERAL (
  SELECT position, partition,
         json_build_object(
           'id', event_id, 'streamId', stream_id, 'type', type, 'version', version,
           'position', position, 'partition', partition, 'schemaVersion', schema_version,
           'data', data, 'metadata', metadata, 'createdAt', created_at
         )::text AS envelope
  FROM refract.events
  WHERE position > $1
  ORDER BY position
  LIMIT $2
) AS e ON true
ORDER BY e.position
