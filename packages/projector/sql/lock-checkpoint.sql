-- Locks one partition's checkpoint of a projection version: a retry or skip
-- of a quarantined stream and that partition's batches take turns.
--   $1 text  projection   $2 int  version   $3 int  partition
SELECT position FROM refract.projection_checkpoints
WHERE projection = $1 AND version = $2 AND partition = $3
FOR UPDATE
