-- Up Migration
-- Idempotency keys of commands: a command sent with a key that already
-- succeeded is answered with its first result instead of running again.
-- The key is claimed, the command's events appended and its result recorded
-- in one transaction (one call of append_keyed, in autocommit), so a key is
-- stored exactly when the command's events are, and a command that failed
-- leaves no key behind.

CREATE TABLE refract.idempotency_keys (
  idempotency_key text PRIMARY KEY,
  -- SHA-256 of the request's canonical JSON: the key reused for another
  -- request is a conflict, not a replay.
  request_hash    bytea NOT NULL,
  stream_id       text NOT NULL,
  -- The stream's version after the command, and the position of its last
  -- event (NULL when the command decided nothing and wrote nothing).
  version         bigint NOT NULL,
  position        bigint,
  created_at      timestamptz NOT NULL DEFAULT now(),
  -- An expired key counts as absent: it is taken over by the next command
  -- that brings it, and deleted by the sweep.
  expires_at      timestamptz NOT NULL
);

-- The sweep deletes the oldest expired keys, a bounded number at a time.
CREATE INDEX idempotency_keys_expires_at_idx ON refract.idempotency_keys (expires_at);

-- A keyed command's append. Keyed appends do not share group-commit
-- transactions: each is one call of this function, so a duplicate that waits
-- on the key, or a conflict, never fails anyone else's append. Unkeyed
-- appends keep append_one and append_batch as they are.
--
-- 1. Claim the key. Concurrent claims of one key queue on its unique index
--    entry (or its row lock, for an expired row being taken over); when the
--    first commits, the others find its row: 'stored', with the stored
--    result and hash for the caller to compare. Nothing else is written.
-- 2. Append through append_one (fresh ids, no stored-id lookup), holding
--    the key. The claim comes first, so duplicates wait on the key and never
--    on the stream, which the group commit also locks.
-- 3. 'written': record the stream's version and the last position on the
--    key. 'wrong_version': delete the claim, so the caller's next attempt
--    (decided again on the new state) or a retry can claim it afresh.
--
-- With no events (the decider decided nothing) the key is stored with
-- p_expected as the version (the caller's loaded version, -1 for none) and
-- no position. expected is encoded as for append_one.
CREATE FUNCTION refract.append_keyed(
  p_key             text,
  p_hash            bytea,
  p_ttl_seconds     double precision,
  p_stream          text,
  p_partition       int,
  p_expected        bigint,
  p_event_ids       uuid[],
  p_types           text[],
  p_schema_versions int[],
  p_data            jsonb[],
  p_metadata        jsonb[],
  p_channel         text
) RETURNS TABLE (
  status        text,
  stream_id     text,
  version       bigint,
  last_position bigint,
  request_hash  bytea
) LANGUAGE plpgsql AS $fn$
#variable_conflict use_column
DECLARE
  v_claimed boolean;
  v_append record;
BEGIN
  INSERT INTO refract.idempotency_keys AS k
    (idempotency_key, request_hash, stream_id, version, position, expires_at)
  VALUES (p_key, p_hash, p_stream, p_expected, NULL,
          now() + p_ttl_seconds * interval '1 second')
  ON CONFLICT (idempotency_key) DO UPDATE
    SET request_hash = EXCLUDED.request_hash,
        stream_id = EXCLUDED.stream_id,
        version = EXCLUDED.version,
        position = NULL,
        created_at = now(),
        expires_at = EXCLUDED.expires_at
    WHERE k.expires_at <= now()
  RETURNING true INTO v_claimed;

  IF v_claimed IS NULL THEN
    -- Not taken over, so the row is live and locked by the ON CONFLICT; a
    -- new statement's snapshot sees the committed row this claim waited on.
    RETURN QUERY
    SELECT 'stored'::text, k.stream_id, k.version, k.position, k.request_hash
    FROM refract.idempotency_keys k WHERE k.idempotency_key = p_key;
    RETURN;
  END IF;

  IF cardinality(p_event_ids) = 0 THEN
    RETURN QUERY SELECT 'written'::text, p_stream, p_expected, NULL::bigint, p_hash;
    RETURN;
  END IF;

  SELECT * INTO v_append
  FROM refract.append_one(p_stream, p_partition, p_expected, false, p_event_ids, p_types,
                          p_schema_versions, p_data, p_metadata, p_channel);

  IF v_append.status = 'written' THEN
    UPDATE refract.idempotency_keys k
    SET version = v_append.last_version, position = v_append.last_position
    WHERE k.idempotency_key = p_key;
    RETURN QUERY SELECT 'written'::text, p_stream, v_append.last_version,
                        v_append.last_position, p_hash;
    RETURN;
  END IF;

  DELETE FROM refract.idempotency_keys k WHERE k.idempotency_key = p_key;
  RETURN QUERY SELECT 'wrong_version'::text, p_stream, v_append.actual, NULL::bigint,
                      NULL::bytea;
END
$fn$;

-- Down Migration
DROP FUNCTION refract.append_keyed(text, bytea, double precision, text, int, bigint, uuid[],
  text[], int[], jsonb[], jsonb[], text);
DROP TABLE refract.idempotency_keys;
