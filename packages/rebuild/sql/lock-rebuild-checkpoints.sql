-- First statement of a catch-up transaction over several partitions of the
-- version being built: locks their checkpoints in partition order (so two
-- processes working on the same rebuild wait for each other instead of
-- deadlocking) and returns where they stand, for the compare-and-set.
--   $1 text  projection   $2 int  version   $3 int[]  partitions
-- Returns partition, position, halted of each.
SELECT partition, position, halted_at IS NOT NULL AS halted
FROM refract.projection_checkpoints
WHERE projection = $1 AND version = $2 AND partition = ANY ($3)
ORDER BY partition
FOR UPDATE
