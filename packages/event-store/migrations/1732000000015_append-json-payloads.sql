-- Up Migration
-- A lighter append_one, and both append functions taking payloads as JSON.
--
-- 1. Payloads arrive as one JSON array per column (data, metadata) instead
--    of a jsonb[] per column. A jsonb[] travels as an array literal: the
--    client escapes every quote of every payload into it and Postgres
--    unescapes them again before parsing the JSON. A JSON array is parsed
--    once. The jsonb[] functions stay as they were, for processes of the
--    previous release during a rolling upgrade (every call casts its
--    arguments, so the overloads never make a call ambiguous).
--
-- 2. append_one writes each stream row once per append. Before, the lock was
--    an upsert that wrote a new row version even for an existing stream, and
--    the version bump wrote a second one:
--    - a new stream's row is inserted at its final version;
--    - an existing stream is locked with FOR UPDATE, which writes no row
--      version, and bumped once.
--    A new stream has no events, so its ids are not looked for either.
--
-- Same encoding of expected and same result row as before.

CREATE FUNCTION refract.append_one(
  p_stream          text,
  p_partition       int,
  p_expected        bigint,
  p_check           boolean,
  p_event_ids       uuid[],
  p_types           text[],
  p_schema_versions int[],
  p_data            jsonb,
  p_metadata        jsonb,
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
-- As append_batch: one generic plan per session, every access by key.
SET enable_seqscan = off
SET plan_cache_mode = force_generic_plan
AS $fn$
#variable_conflict use_column
DECLARE
  v_count int := cardinality(p_event_ids);
  v_current bigint;
  v_first bigint;
  v_last bigint;
BEGIN
  -- The lock. Either statement takes the transaction id before any
  -- position is drawn (the relay's gap rule relies on it).
  LOOP
    -- A new stream: its row, already at the version this append leaves.
    -- Waits for a transaction inserting the same stream, then finds its row.
    INSERT INTO refract.streams AS s (stream_id, version, partition)
    VALUES (p_stream, v_count - 1, p_partition)
    ON CONFLICT (stream_id) DO NOTHING;
    IF FOUND THEN
      v_current := -1;
      EXIT;
    END IF;
    SELECT s.version INTO v_current FROM refract.streams s
    WHERE s.stream_id = p_stream
    FOR UPDATE;
    EXIT WHEN FOUND;
    -- Gone between the two statements (a failed append's own row is never
    -- seen by others, so this is only a deleted stream): insert again.
  END LOOP;

  -- Looked for after the lock: a retry racing its original sees it here
  -- once the original has committed.
  IF p_check AND v_current >= 0 AND EXISTS (
    SELECT 1 FROM refract.events e
    WHERE e.stream_id = p_stream AND e.event_id = ANY (p_event_ids)
  ) THEN
    RETURN QUERY
    SELECT * FROM refract.append_batch(
      ARRAY[p_stream], ARRAY[p_partition], ARRAY[p_expected], ARRAY[v_count], ARRAY[true],
      array_fill(1, ARRAY[v_count]),
      ARRAY(SELECT generate_series(0, v_count - 1)),
      p_event_ids, p_types, p_schema_versions, p_data, p_metadata, p_channel);
    RETURN;
  END IF;

  IF p_expected IS NULL
     OR (p_expected = -1 AND v_current = -1)
     OR (p_expected = -2 AND v_current >= 0)
     OR (p_expected >= 0 AND v_current = p_expected) THEN
    -- Positions are drawn after the sort, so they ascend in event order.
    WITH inserted AS (
      INSERT INTO refract.events
        (position, stream_id, version, partition, event_id, type, schema_version, data,
         metadata, tx_id)
      SELECT nextval('refract.events_position_seq'), p_stream, v_current + e.ord, p_partition,
             e.event_id, e.type, e.schema_version, e.data, e.metadata, pg_current_xact_id()
      FROM ROWS FROM (unnest(p_event_ids), unnest(p_types), unnest(p_schema_versions),
                      jsonb_array_elements(p_data), jsonb_array_elements(p_metadata))
             WITH ORDINALITY AS e (event_id, type, schema_version, data, metadata, ord)
      ORDER BY e.ord
      RETURNING refract.events.position
    )
    SELECT min(i.position), max(i.position) INTO v_first, v_last FROM inserted i;

    IF v_current >= 0 THEN
      UPDATE refract.streams s SET version = v_current + v_count, updated_at = now()
      WHERE s.stream_id = p_stream;
    END IF;
    -- Delivered at commit, and only if the commit happens.
    PERFORM pg_notify(p_channel, '');
    RETURN QUERY SELECT 1, 'written'::text, v_current, v_current + 1, v_current + v_count,
                        v_first, v_last, NULL::uuid;
    RETURN;
  END IF;

  IF v_current = -1 THEN
    DELETE FROM refract.streams s WHERE s.stream_id = p_stream;
  END IF;
  RETURN QUERY SELECT 1, 'wrong_version'::text, v_current, NULL::bigint, NULL::bigint,
                      NULL::bigint, NULL::bigint, NULL::uuid;
END
$fn$;

-- The batch: the same function as before, with payloads as JSON arrays.
CREATE FUNCTION refract.append_batch(
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
  p_data            jsonb,
  p_metadata        jsonb,
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
) LANGUAGE sql
AS $fn$
  SELECT * FROM refract.append_batch(
    p_streams, p_partitions, p_expected, p_counts, p_check, p_owners, p_offsets, p_event_ids,
    p_types, p_schema_versions,
    ARRAY(SELECT x FROM jsonb_array_elements(p_data) WITH ORDINALITY AS t (x, n) ORDER BY n),
    ARRAY(SELECT x FROM jsonb_array_elements(p_metadata) WITH ORDINALITY AS t (x, n) ORDER BY n),
    p_channel)
$fn$;

-- Down Migration
DROP FUNCTION refract.append_batch(text[], int[], bigint[], int[], boolean[], int[], int[], uuid[],
                                   text[], int[], jsonb, jsonb, text);
DROP FUNCTION refract.append_one(text, int, bigint, boolean, uuid[], text[], int[], jsonb, jsonb,
                                 text);
