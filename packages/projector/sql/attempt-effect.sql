-- Records an attempt of an effect before it runs, outside the batch's
-- transaction (autocommit), so that a crash during the call leaves a trace:
-- the key then has attempts > 1 once it is done (at-least-once). A key done
-- meanwhile (by a transaction that committed while this one waited for its
-- row) is not counted again, and the caller does not run it.
--   $1 text  reactor   $2 text  effect key   $3 bigint  event position
-- Returns done, result.
INSERT INTO refract.effect_ledger AS l (reactor, effect_key, position, attempts)
VALUES ($1, $2, $3, 1)
ON CONFLICT (reactor, effect_key) DO UPDATE
SET attempts = l.attempts + CASE WHEN l.done_at IS NULL THEN 1 ELSE 0 END,
    last_attempt_at = CASE WHEN l.done_at IS NULL THEN now() ELSE l.last_attempt_at END
RETURNING l.done_at IS NOT NULL AS done, l.result
