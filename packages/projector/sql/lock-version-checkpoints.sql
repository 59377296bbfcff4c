-- Locks every partition's checkpoint of one projection version (a swap's
-- first step, on the live version). Workers' batch compare-and-set on these
-- rows waits until the locking transaction ends, so the positions read here
-- are final for it.
--   $1 text  projection   $2 int  version
-- Returns partition, position of each.
SELECT partition, position
FROM refract.projection_checkpoints
WHERE projection = $1 AND version = $2
ORDER BY partition
FOR UPDATE
