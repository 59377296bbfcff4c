-- Finds events of an append request that are already stored (idempotent retries).
--   $1 text[]   stream id of each event
--   $2 uuid[]   event ids
--   $3 text[]   types
--   $4 int[]    schema versions
--   $5 jsonb[]  data
--   $6 jsonb[]  metadata
-- Returns, per stored event: ord (1-based index into the arrays), version,
-- position, and same = whether the stored content equals the request's
-- (jsonb equality, so key order and spacing do not matter).
SELECT r.ord::int AS ord,
       e.version,
       e.position,
       (e.type = r.type AND e.schema_version = r.schema_version
        AND e.data = r.data AND e.metadata = r.metadata) AS same
FROM unnest($1::text[], $2::uuid[], $3::text[], $4::int[], $5::jsonb[], $6::jsonb[])
       WITH ORDINALITY AS r (stream_id, event_id, type, schema_version, data, metadata, ord)
JOIN refract.events e ON e.stream_id = r.stream_id AND e.event_id = r.event_id
