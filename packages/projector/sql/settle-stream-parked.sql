-- After a replay of a quarantined stream: the events applied are resolved
-- as retried, the first that failed again heads the quarantine with its new
-- error, and the rest wait behind it.
--   $1 bigint[]  ids applied   $2 bigint  id of the new head (NULL: none)
--   $3 text  its error   $4 bigint[]  ids still behind   $5 bigint  the head's position
WITH applied AS (
  UPDATE refract.parked_events SET resolution = 'retried', resolved_at = now()
  WHERE id = ANY ($1)
), head AS (
  UPDATE refract.parked_events SET error = $3, attempts = attempts + 1, behind = NULL
  WHERE id = $2
)
UPDATE refract.parked_events SET behind = $5 WHERE id = ANY ($4)
