-- The checkpoints of one partition for a set of projection versions, and
-- whether the partition has quarantined streams (open parked events): its
-- batches then look them up in their transaction.
--   $1 text[]  projections   $2 int[]  their versions (same order)   $3 int  partition
SELECT c.projection, c.version, c.position, c.halted_at,
       EXISTS (
         SELECT 1 FROM refract.parked_events p
         WHERE p.projection = c.projection AND p.version = c.version
           AND p.partition = c.partition AND p.resolution IS NULL
       ) AS quarantined
FROM unnest($1::text[], $2::int[]) AS w (projection, version)
JOIN refract.projection_checkpoints c
  ON c.projection = w.projection AND c.version = w.version AND c.partition = $3
