-- Up Migration
-- A retry of a stored append is judged by comparing what it says with what
-- is stored. Since the write API stamps each event's metadata with its
-- trace context and correlation ids (a retry comes in another request, often
-- in another trace), those keys are left out of the comparison: only they
-- differing does not make a retry a conflict. Otherwise append_batch is as
-- migrations 004 and 005 left it.
CREATE OR REPLACE FUNCTION refract.append_batch(
  p_streams         text[],
  p_partitions      int[],
  p_expected        bigint[],
  p_counts          int[],
  p_check           boolean[],
  p_owners          int[],
  p_offsets         int[],
  p_event_ids       uuid[],
  p_types           text[],
  p_schema_versions int[],
  p_data            jsonb[],
  p_metadata        jsonb[],
  p_channel         text
) RETURNS TABLE (
  ord            int,
  status         text,
  actual         bigint,
  first_version  bigint,
  last_version   bigint,
  first_position bigint,
  last_position  bigint,
  event_id       uuid
) LANGUAGE plpgsql
-- PL/pgSQL keeps one plan per statement for the session. Planned on a young
-- or freshly vacuumed log, where a table scan looks free, the key lookups
-- below would scan whole tables forever after; every table access here is
-- by key, so table scans are ruled out instead.
SET enable_seqscan = off
SET plan_cache_mode = force_generic_plan
AS $fn$
#variable_conflict use_column
DECLARE
  -- Metadata keys that say how an event travelled (its trace and
  -- correlation ids), not what it says: a retry sent in another trace is
  -- still the same append.
  c_trace_keys CONSTANT text[] := ARRAY['traceparent', 'tracestate', 'correlationId', 'causationId'];
  v_current bigint[];
BEGIN
  -- Lock the streams in stream id order (two batches on the same streams
  -- cannot deadlock); a new stream gets a placeholder row at version -1.
  WITH locked AS (
    INSERT INTO refract.streams AS s (stream_id, version, partition)
    SELECT t.stream_id, -1, t.partition
    FROM unnest(p_streams, p_partitions) AS t (stream_id, partition)
    ORDER BY t.stream_id
    ON CONFLICT (stream_id) DO UPDATE SET updated_at = s.updated_at
    RETURNING s.stream_id, s.version
  )
  SELECT array_agg(l.version ORDER BY a.ord) INTO v_current
  FROM unnest(p_streams) WITH ORDINALITY AS a (stream_id, ord)
  JOIN locked l ON l.stream_id = a.stream_id;

  -- A new statement, so a new snapshot: it sees what the transactions we
  -- waited on for the locks committed.
  RETURN QUERY
  WITH appends AS (
    SELECT a.ord::int AS ord, a.stream_id, a.partition, a.expected, a.n, a.chk,
           v_current[a.ord] AS cur
    FROM unnest(p_streams, p_partitions, p_expected, p_counts, p_check)
           WITH ORDINALITY AS a (stream_id, partition, expected, n, chk, ord)
  ), events AS (
    SELECT e.eord, e.owner, e.k, e.event_id, e.type, e.schema_version, e.data, e.metadata
    FROM unnest(p_owners, p_offsets, p_event_ids, p_types, p_schema_versions, p_data, p_metadata)
           WITH ORDINALITY AS e (owner, k, event_id, type, schema_version, data, metadata, eord)
  ), stored AS (
    SELECT ev.owner,
           count(*) AS found,
           bool_and(x.type = ev.type AND x.schema_version = ev.schema_version
                    AND x.data = ev.data
                    AND x.metadata - c_trace_keys = ev.metadata - c_trace_keys) AS all_same,
           count(DISTINCT x.version - ev.k) AS runs,
           min(x.version) AS first_version,
           max(x.version) AS last_version,
           min(x.position) AS first_position,
           max(x.position) AS last_position,
           -- the first changed event, else the first stored one
           (array_agg(ev.event_id ORDER BY
              (x.type = ev.type AND x.schema_version = ev.schema_version
               AND x.data = ev.data
               AND x.metadata - c_trace_keys = ev.metadata - c_trace_keys), ev.k))[1] AS first_bad
    FROM events ev
    JOIN appends a ON a.ord = ev.owner AND a.chk
    -- A key lookup per event (OFFSET 0 keeps the planner from flattening it
    -- into a join that could hash the whole log).
    CROSS JOIN LATERAL (
      SELECT e.type, e.schema_version, e.data, e.metadata, e.version, e.position
      FROM refract.events e
      WHERE e.stream_id = a.stream_id AND e.event_id = ev.event_id
      OFFSET 0
    ) x
    GROUP BY ev.owner
  ), verdicts AS (
    SELECT a.*, s.found, s.first_version AS s_first_version, s.last_version AS s_last_version,
           s.first_position AS s_first_position, s.last_position AS s_last_position,
           s.first_bad,
           CASE
             WHEN s.found IS NOT NULL THEN
               CASE WHEN s.found = a.n AND s.all_same AND s.runs = 1 THEN 'duplicate'
                    ELSE 'conflict' END
             WHEN a.expected IS NULL THEN 'written'
             WHEN a.expected = -1 AND a.cur = -1 THEN 'written'
             WHEN a.expected = -2 AND a.cur >= 0 THEN 'written'
             WHEN a.expected >= 0 AND a.cur = a.expected THEN 'written'
             ELSE 'wrong_version'
           END AS verdict
    FROM appends a
    LEFT JOIN stored s ON s.owner = a.ord
  ), inserted AS (
    -- Positions are drawn after the ORDER BY (volatile target-list functions
    -- run after sorting), so they ascend in request order and, within a
    -- stream, in version order.
    INSERT INTO refract.events
      (position, stream_id, version, partition, event_id, type, schema_version, data, metadata,
       tx_id)
    SELECT nextval('refract.events_position_seq'), v.stream_id, v.cur + 1 + ev.k, v.partition,
           ev.event_id, ev.type, ev.schema_version, ev.data, ev.metadata, pg_current_xact_id()
    FROM events ev
    JOIN verdicts v ON v.ord = ev.owner AND v.verdict = 'written'
    ORDER BY ev.eord
    RETURNING refract.events.stream_id, refract.events.position
  ), written AS (
    SELECT i.stream_id, min(i.position) AS first_position, max(i.position) AS last_position
    FROM inserted i
    GROUP BY i.stream_id
  ), moved AS (
    UPDATE refract.streams s
    SET version = v.cur + v.n, updated_at = now()
    FROM verdicts v
    WHERE v.verdict = 'written' AND s.stream_id = v.stream_id
    RETURNING 1
  ), dropped AS (
    -- placeholders of new streams that got no event
    DELETE FROM refract.streams s
    USING verdicts v
    WHERE v.verdict <> 'written' AND v.cur = -1 AND s.stream_id = v.stream_id AND s.version = -1
    RETURNING 1
  )
  SELECT v.ord,
         v.verdict,
         v.cur,
         CASE v.verdict WHEN 'written' THEN v.cur + 1 ELSE v.s_first_version END,
         CASE v.verdict WHEN 'written' THEN v.cur + v.n ELSE v.s_last_version END,
         CASE v.verdict WHEN 'written' THEN w.first_position ELSE v.s_first_position END,
         CASE v.verdict WHEN 'written' THEN w.last_position ELSE v.s_last_position END,
         v.first_bad
  FROM verdicts v
  LEFT JOIN written w ON w.stream_id = v.stream_id
  -- pg_notify wakes the relay when something was written; it is delivered
  -- at commit, and only if the commit happens. Being volatile, it keeps this
  -- otherwise unused column from being planned away.
  CROSS JOIN (SELECT (SELECT count(*) FROM moved) AS moved,
                     (SELECT count(*) FROM dropped) AS dropped,
                     (SELECT count(pg_notify(p_channel, ''))
                      FROM (SELECT 1 FROM written LIMIT 1) w) AS notified) AS side_effects
  ORDER BY v.ord;
END
$fn$;

-- Down Migration
CREATE OR REPLACE FUNCTION refract.append_batch(
  p_streams         text[],
  p_partitions      int[],
  p_expected        bigint[],
  p_counts          int[],
  p_check           boolean[],
  p_owners          int[],
  p_offsets         int[],
  p_event_ids       uuid[],
  p_types           text[],
  p_schema_versions int[],
  p_data            jsonb[],
  p_metadata        jsonb[],
  p_channel         text
) RETURNS TABLE (
  ord            int,
  status         text,
  actual         bigint,
  first_version  bigint,
  last_version   bigint,
  first_position bigint,
  last_position  bigint,
  event_id       uuid
) LANGUAGE plpgsql
-- PL/pgSQL keeps one plan per statement for the session. Planned on a young
-- or freshly vacuumed log, where a table scan looks free, the key lookups
-- below would scan whole tables forever after; every table access here is
-- by key, so table scans are ruled out instead.
SET enable_seqscan = off
SET plan_cache_mode = force_generic_plan
AS $fn$
#variable_conflict use_column
DECLARE
  v_current bigint[];
BEGIN
  -- Lock the streams in stream id order (two batches on the same streams
  -- cannot deadlock); a new stream gets a placeholder row at version -1.
  WITH locked AS (
    INSERT INTO refract.streams AS s (stream_id, version, partition)
    SELECT t.stream_id, -1, t.partition
    FROM unnest(p_streams, p_partitions) AS t (stream_id, partition)
    ORDER BY t.stream_id
    ON CONFLICT (stream_id) DO UPDATE SET updated_at = s.updated_at
    RETURNING s.stream_id, s.version
  )
  SELECT array_agg(l.version ORDER BY a.ord) INTO v_current
  FROM unnest(p_streams) WITH ORDINALITY AS a (stream_id, ord)
  JOIN locked l ON l.stream_id = a.stream_id;

  -- A new statement, so a new snapshot: it sees what the transactions we
  -- waited on for the locks committed.
  RETURN QUERY
  WITH appends AS (
    SELECT a.ord::int AS ord, a.stream_id, a.partition, a.expected, a.n, a.chk,
           v_current[a.ord] AS cur
    FROM unnest(p_streams, p_partitions, p_expected, p_counts, p_check)
           WITH ORDINALITY AS a (stream_id, partition, expected, n, chk, ord)
  ), events AS (
    SELECT e.eord, e.owner, e.k, e.event_id, e.type, e.schema_version, e.data, e.metadata
    FROM unnest(p_owners, p_offsets, p_event_ids, p_types, p_schema_versions, p_data, p_metadata)
           WITH ORDINALITY AS e (owner, k, event_id, type, schema_version, data, metadata, eord)
  ), stored AS (
    SELECT ev.owner,
           count(*) AS found,
           bool_and(x.type = ev.type AND x.schema_version = ev.schema_version
                    AND x.data = ev.data AND x.metadata = ev.metadata) AS all_same,
           count(DISTINCT x.version - ev.k) AS runs,
           min(x.version) AS first_version,
           max(x.version) AS last_version,
           min(x.position) AS first_position,
           max(x.position) AS last_position,
           -- the first changed event, else the first stored one
           (array_agg(ev.event_id ORDER BY
              (x.type = ev.type AND x.schema_version = ev.schema_version
               AND x.data = ev.data AND x.metadata = ev.metadata), ev.k))[1] AS first_bad
    FROM events ev
    JOIN appends a ON a.ord = ev.owner AND a.chk
    -- A key lookup per event (OFFSET 0 keeps the planner from flattening it
    -- into a join that could hash the whole log).
    CROSS JOIN LATERAL (
      SELECT e.type, e.schema_version, e.data, e.metadata, e.version, e.position
      FROM refract.events e
      WHERE e.stream_id = a.stream_id AND e.event_id = ev.event_id
      OFFSET 0
    ) x
    GROUP BY ev.owner
  ), verdicts AS (
    SELECT a.*, s.found, s.first_version AS s_first_version, s.last_version AS s_last_version,
           s.first_position AS s_first_position, s.last_position AS s_last_position,
           s.first_bad,
           CASE
             WHEN s.found IS NOT NULL THEN
               CASE WHEN s.found = a.n AND s.all_same AND s.runs = 1 THEN 'duplicate'
                    ELSE 'conflict' END
             WHEN a.expected IS NULL THEN 'written'
             WHEN a.expected = -1 AND a.cur = -1 THEN 'written'
             WHEN a.expected = -2 AND a.cur >= 0 THEN 'written'
             WHEN a.expected >= 0 AND a.cur = a.expected THEN 'written'
             ELSE 'wrong_version'
           END AS verdict
    FROM appends a
    LEFT JOIN stored s ON s.owner = a.ord
  ), inserted AS (
    -- Positions are drawn after the ORDER BY (volatile target-list functions
    -- run after sorting), so they ascend in request order and, within a
    -- stream, in version order.
    INSERT INTO refract.events
      (position, stream_id, version, partition, event_id, type, schema_version, data, metadata,
       tx_id)
    SELECT nextval('refract.events_position_seq'), v.stream_id, v.cur + 1 + ev.k, v.partition,
           ev.event_id, ev.type, ev.schema_version, ev.data, ev.metadata, pg_current_xact_id()
    FROM events ev
    JOIN verdicts v ON v.ord = ev.owner AND v.verdict = 'written'
    ORDER BY ev.eord
    RETURNING refract.events.stream_id, refract.events.position
  ), written AS (
    SELECT i.stream_id, min(i.position) AS first_position, max(i.position) AS last_position
    FROM inserted i
    GROUP BY i.stream_id
  ), moved AS (
    UPDATE refract.streams s
    SET version = v.cur + v.n, updated_at = now()
    FROM verdicts v
    WHERE v.verdict = 'written' AND s.stream_id = v.stream_id
    RETURNING 1
  ), dropped AS (
    -- placeholders of new streams that got no event
    DELETE FROM refract.streams s
    USING verdicts v
    WHERE v.verdict <> 'written' AND v.cur = -1 AND s.stream_id = v.stream_id AND s.version = -1
    RETURNING 1
  )
  SELECT v.ord,
         v.verdict,
         v.cur,
         CASE v.verdict WHEN 'written' THEN v.cur + 1 ELSE v.s_first_version END,
         CASE v.verdict WHEN 'written' THEN v.cur + v.n ELSE v.s_last_version END,
         CASE v.verdict WHEN 'written' THEN w.first_position ELSE v.s_first_position END,
         CASE v.verdict WHEN 'written' THEN w.last_position ELSE v.s_last_position END,
         v.first_bad
  FROM verdicts v
  LEFT JOIN written w ON w.stream_id = v.stream_id
  -- pg_notify wakes the relay when something was written; it is delivered
  -- at commit, and only if the commit happens. Being volatile, it keeps this
  -- otherwise unused column from being planned away.
  CROSS JOIN (SELECT (SELECT count(*) FROM moved) AS moved,
                     (SELECT count(*) FROM dropped) AS dropped,
                     (SELECT count(pg_notify(p_channel, ''))
                      FROM (SELECT 1 FROM written LIMIT 1) w) AS notified) AS side_effects
  ORDER BY v.ord;
END
$fn$;
