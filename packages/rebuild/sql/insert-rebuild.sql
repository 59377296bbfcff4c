-- Records a new rebuild unless one of the projection is waiting, active or verifying
-- (the partial unique index decides, so two racing requests cannot both win).
--   $1 text  job id   $2 text  projection   $3 int  target version   $4 jsonb  expected changes
-- Returns the row when it was inserted, nothing when another rebuild runs.
INSERT INTO refract.rebuilds (job_id, projection, target_version, expect_changes)
VALUES ($1, $2, $3, $4)
ON CONFLICT (projection) WHERE state IN ('waiting', 'active', 'verifying') DO NOTHING
RETURNING *
