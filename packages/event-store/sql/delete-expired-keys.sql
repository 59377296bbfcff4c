-- Deletes up to $1 expired idempotency keys, oldest first, and returns how
-- many. Rows locked by a claim taking one over are skipped, not waited on.
--   $1 int the most to delete
WITH expired AS (
  SELECT idempotency_key
  FROM refract.idempotency_keys
  WHERE expires_at <= now()
  ORDER BY expires_at
  LIMIT $1
  FOR UPDATE SKIP LOCKED
), deleted AS (
  DELETE FROM refract.idempotency_keys k
  USING expired e
  WHERE k.idempotency_key = e.idempotency_key
  RETURNING 1
)
SELECT count(*)::int AS deleted FROM deleted
