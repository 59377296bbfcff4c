-- Where some partitions of one projection version stand, and whether each
-- has quarantined streams (open parked events), as load-checkpoints.sql.
--   $1 text  projection   $2 int  version   $3 int[]  partitions
SELECT c.partition, c.position, c.halted_at IS NOT NULL AS halted,
       EXISTS (
         SELECT 1 FROM refract.parked_events p
         WHERE p.projection = c.projection AND p.version = c.version
           AND p.partition = c.partition AND p.resolution IS NULL
       ) AS quarantined
FROM refract.projection_checkpoints c
WHERE c.projection = $1 AND c.version = $2 AND c.partition = ANY ($3)
