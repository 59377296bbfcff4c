-- Up Migration
-- A batch of one append is what group commit sends nearly every time below
-- saturation, and append_batch's single statement made one event cost
-- Postgres about twice the work it does: the executor set up every node of
-- a plan built for any batch (stored-id lookups, verdicts, placeholders)
-- on every call. This is the same append as a few small statements.
--
-- It settles the common outcomes itself (written, wrong_version). An
-- append whose ids are already stored (a retry, or an id reused) goes on to
-- append_batch, so duplicate and conflict verdicts have one definition.
--
-- Same encoding of expected, same result row as append_batch (ord is 1).
CREATE FUNCTION refract.append_one(
  p_stream          text,
  p_partition       int,
  p_expected        bigint,
  p_check           boolean,
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
  -- The lock, as in append_batch (a new stream gets a placeholder at -1).
  -- Its write takes the transaction id before any position is drawn.
  INSERT INTO refract.streams AS s (stream_id, version, partition)
  VALUES (p_stream, -1, p_partition)
  ON CONFLICT (stream_id) DO UPDATE SET updated_at = s.updated_at
  RETURNING s.version INTO v_current;

  -- Looked for after the lock: a retry racing its original sees it here
  -- once the original has committed.
  IF p_check AND EXISTS (
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
      FROM unnest(p_event_ids, p_types, p_schema_versions, p_data, p_metadata)
             WITH ORDINALITY AS e (event_id, type, schema_version, data, metadata, ord)
      ORDER BY e.ord
      RETURNING refract.events.position
    )
    SELECT min(i.position), max(i.position) INTO v_first, v_last FROM inserted i;

    UPDATE refract.streams s SET version = v_current + v_count, updated_at = now()
    WHERE s.stream_id = p_stream;
    -- Delivered at commit, and only if the commit happens.
    PERFORM pg_notify(p_channel, '');
    RETURN QUERY SELECT 1, 'written'::text, v_current, v_current + 1, v_current + v_count,
                        v_first, v_last, NULL::uuid;
    RETURN;
  END IF;

  IF v_current = -1 THEN
    DELETE FROM refract.streams s WHERE s.stream_id = p_stream AND s.version = -1;
  END IF;
  RETURN QUERY SELECT 1, 'wrong_version'::text, v_current, NULL::bigint, NULL::bigint,
                      NULL::bigint, NULL::bigint, NULL::uuid;
END
$fn$;

-- Down Migration
DROP FUNCTION refract.append_one(text, int, bigint, boolean, uuid[], text[], int[], jsonb[],
  jsonb[], text);
