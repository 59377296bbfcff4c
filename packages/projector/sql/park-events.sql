-- Parks events of one partition, in the batch transaction that moves the
-- checkpoint past them: those that failed (behind NULL) and those of a
-- quarantined stream recorded behind its first parked event.
--   $1 text  projection  $2 int  version  $3 int  partition
--   $4 bigint[]  positions  $5 text[]  stream ids  $6 text[]  event types
--   $7 text[]  errors  $8 int[]  attempts  $9 bigint[]  behind (NULL: failed itself)
INSERT INTO refract.parked_events
  (projection, version, partition, position, stream_id, event_type, error, attempts, behind)
SELECT $1, $2, $3, p.position, p.stream_id, p.event_type, p.error, p.attempts, p.behind
FROM unnest($4::bigint[], $5::text[], $6::text[], $7::text[], $8::int[], $9::bigint[])
  AS p (position, stream_id, event_type, error, attempts, behind)
ON CONFLICT (projection, version, position) DO NOTHING
