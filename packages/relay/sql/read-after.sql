-- Reads the visible events after the relay's checkpoint, together with the
-- snapshot the read used, in one statement so both describe the same moment.
-- It also carries the checkpoint write of the previous round (already in
-- Redis), so the write costs no round trip of its own: a data-modifying CTE
-- runs under the statement's snapshot, and a NULL $4 updates no row (and
-- takes no transaction id).
--   $1 bigint  the relay's published position (every position up to it is in Redis)
--   $2 int     at most this many events
--   $3 text    relay name
--   $4 bigint  checkpoint to save (at most $1), or NULL
-- Returns at least one row: snapshot (pg_snapshot as text, "xmin:xmax:xip,...")
-- and, when there are events, position, partition and the envelope as JSON
-- text (built here so Node passes it on without parsing and re-serialising),
-- and the trace context its metadata holds, if any (for the publish span).
WITH saved AS (
  UPDATE refract.relay_checkpoints
  SET position = greatest(position, $4::bigint), updated_at = now()
  WHERE $4::bigint IS NOT NULL AND name = $3
  RETURNING 1
)
SELECT s.snap::text AS snapshot, e.position, e.partition, e.envelope, e.traceparent,
       e.tracestate
FROM (SELECT pg_current_snapshot() AS snap) AS s
LEFT JOIN LATERAL (
  SELECT position, partition,
         json_build_object(
           'id', event_id, 'streamId', stream_id, 'type', type, 'version', version,
           'position', position, 'partition', partition, 'schemaVersion', schema_version,
           'data', data, 'metadata', metadata, 'createdAt', created_at
         )::text AS envelope,
         metadata->>'traceparent' AS traceparent, metadata->>'tracestate' AS tracestate
  FROM refract.events
  WHERE position > $1
  ORDER BY position
  LIMIT $2
) AS e ON true
ORDER BY e.position
