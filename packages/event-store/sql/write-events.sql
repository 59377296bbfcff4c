-- Writes the accepted events of one append transaction, moves the streams'
-- versions, drops placeholder rows of streams that got no event, and wakes
-- the relay (NOTIFY is delivered at commit, and only if the commit happens).
--   $1 text[]  stream ids       $2 bigint[] versions     $3 int[]   partitions
--   $4 uuid[]  event ids        $5 text[]   types        $6 int[]   schema versions
--   $7 jsonb[] data             $8 jsonb[]  metadata
--   $9 text[]  streams to move  $10 bigint[] their new versions
--   $11 text[] placeholder streams to drop when still empty
--   $12 text   NOTIFY channel
-- Returns position, stream_id, version per written event.
-- Positions are drawn after the ORDER BY (Postgres evaluates volatile
-- target-list functions after sorting), so they ascend in request order and
-- within each stream in version order.
WITH inserted AS (
  INSERT INTO refract.events
    (position, stream_id, version, partition, event_id, type, schema_version, data, metadata, tx_id)
  SELECT nextval('refract.events_position_seq'), r.stream_id, r.version, r.partition, r.event_id,
         r.type, r.schema_version, r.data, r.metadata, pg_current_xact_id()
  FROM unnest($1::text[], $2::bigint[], $3::int[], $4::uuid[], $5::text[], $6::int[],
              $7::jsonb[], $8::jsonb[])
         WITH ORDINALITY AS r (stream_id, version, partition, event_id, type, schema_version,
                               data, metadata, ord)
  ORDER BY r.ord
  RETURNING position, stream_id, version
), moved AS (
  UPDATE refract.streams s
  SET version = m.version, updated_at = now()
  FROM unnest($9::text[], $10::bigint[]) AS m (stream_id, version)
  WHERE s.stream_id = m.stream_id
  RETURNING 1
), dropped AS (
  DELETE FROM refract.streams
  WHERE stream_id = ANY ($11::text[]) AND version = -1
  RETURNING 1
)
SELECT i.position, i.stream_id, i.version
FROM inserted i
CROSS JOIN (SELECT pg_notify($12, '') AS notified,
                   (SELECT count(*) FROM moved) AS moved,
                   (SELECT count(*) FROM dropped) AS dropped) AS side_effects
