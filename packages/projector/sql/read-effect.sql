-- Whether an effect of a reactor is done, read in the batch's transaction
-- (which sees the done marks it wrote itself).
--   $1 text  reactor   $2 text  effect key
-- Returns done, result (null when none).
SELECT done_at IS NOT NULL AS done, result
FROM refract.effect_ledger WHERE reactor = $1 AND effect_key = $2
