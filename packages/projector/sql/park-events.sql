-- Parks events of some partitions, in the batch transaction that moves
-- their checkpoints past them. Those that failed get a row each, with the
-- events of their stream after them in the batch held in it; the events of
-- a stream already quarantined are appended to its open row's `held`. A
-- held event is a position, not a row: the event is in refract.events.
--   $1 text  projection  $2 int  version
--   $3 int[]  partitions of the failed events  $4 bigint[]  their positions
--   $5 text[]  their stream ids  $6 text[]  their event types  $7 text[]  their errors
--   $8 int[]  their attempts
--   The held events, in groups of those waiting behind one failed event (one
--   stream, one partition), so that a flood sends each stream id once:
--   $9 text[]  each group's stream id  $11 int[]  its partition
--   $12 bigint[]  the position of the failed event it waits behind
--   $10 bigint[]  the held events' positions  $13 int[]  the group of each (1-based)
WITH held AS (
  SELECT g.partition, g.stream_id, g.behind, array_agg(h.position ORDER BY h.position) AS positions
  FROM unnest($9::text[], $11::int[], $12::bigint[]) WITH ORDINALITY
    AS g (stream_id, partition, behind, n)
  JOIN unnest($10::bigint[], $13::int[]) AS h (position, n) ON h.n = g.n
  GROUP BY g.n, g.partition, g.stream_id, g.behind
), failed AS (
  INSERT INTO refract.parked_events
    (projection, version, partition, position, stream_id, event_type, error, attempts, held)
  SELECT $1, $2, p.partition, p.position, p.stream_id, p.event_type, p.error, p.attempts,
         coalesce(h.positions, '{}')
  FROM unnest($3::int[], $4::bigint[], $5::text[], $6::text[], $7::text[], $8::int[])
    AS p (partition, position, stream_id, event_type, error, attempts)
  LEFT JOIN held AS h ON h.behind = p.position
  ON CONFLICT (projection, version, position) DO NOTHING
), open AS (
  -- The statement's snapshot does not see the rows inserted above: this
  -- finds only the rows of failed events of earlier batches. A key lookup
  -- per row (OFFSET 0 keeps the planner from flattening it into a join that
  -- scans every open row: a flood has thousands). The head is of the held
  -- events' stream and partition: naming them makes the lookup an equality
  -- on every column of parked_events_open_stream_idx as well as of the
  -- position key, so whichever index the planner takes reads one entry.
  -- With the position alone it took open_stream_idx on a table grown faster
  -- than its statistics and read every open row of the version per stream.
  SELECT o.id, h.positions
  FROM held AS h
  CROSS JOIN LATERAL (
    SELECT q.id FROM refract.parked_events AS q
    WHERE q.projection = $1 AND q.version = $2 AND q.partition = h.partition
      AND q.stream_id = h.stream_id AND q.position = h.behind AND q.resolution IS NULL
    OFFSET 0
  ) AS o
)
UPDATE refract.parked_events AS p SET held = p.held || o.positions
FROM open AS o
WHERE p.id = o.id
