-- Where some partitions of one projection version stand.
--   $1 text  projection   $2 int  version   $3 int[]  partitions
SELECT partition, position, halted_at IS NOT NULL AS halted
FROM refract.projection_checkpoints
WHERE projection = $1 AND version = $2 AND partition = ANY ($3)
