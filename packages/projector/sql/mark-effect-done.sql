-- Marks an effect done, in the batch's transaction: it commits with the
-- reactor's checkpoint or not at all.
--   $1 text  reactor   $2 text  effect key   $3 bigint  event position   $4 jsonb  result
INSERT INTO refract.effect_ledger AS l (reactor, effect_key, position, attempts, done_at, result)
VALUES ($1, $2, $3, 1, now(), $4)
ON CONFLICT (reactor, effect_key) DO UPDATE
SET done_at = now(), result = EXCLUDED.result, position = EXCLUDED.position
