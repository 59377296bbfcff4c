-- Resolves a parked event as retried (in the transaction that applied it).
--   $1 bigint  id
UPDATE refract.parked_events SET resolution = 'retried', resolved_at = now()
WHERE id = $1 RETURNING *
