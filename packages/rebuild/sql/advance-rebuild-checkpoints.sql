-- Moves the checkpoints locked by lock-rebuild-checkpoints, each to its own
-- position, in the same transaction as the events up to them.
--   $1 text  projection   $2 int  version   $3 int[]  partitions
--   $4 bigint[]  their new positions (same order)
UPDATE refract.projection_checkpoints AS c
SET position = w.position, updated_at = now()
FROM unnest($3::int[], $4::bigint[]) AS w (partition, position)
WHERE c.projection = $1 AND c.version = $2 AND c.partition = w.partition
