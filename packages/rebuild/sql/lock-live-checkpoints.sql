-- First step of a swap: locks the live version's checkpoint of every
-- partition. Live workers' batch compare-and-set on these rows waits until
-- the swap commits (the pause), so the positions read here are final for v.
--   $1 text  projection   $2 int  live version
-- Returns partition, position of each.
SELECT partition, position
FROM refract.projection_checkpoints
WHERE projection = $1 AND version = $2
ORDER BY partition
FOR UPDATE
