-- The checkpoints of one partition for a set of projection versions.
--   $1 text[]  projections   $2 int[]  their versions (same order)   $3 int  partition
SELECT c.projection, c.version, c.position, c.halted_at
FROM unnest($1::text[], $2::int[]) AS w (projection, version)
JOIN refract.projection_checkpoints c
  ON c.projection = w.projection AND c.version = w.version AND c.partition = $3
