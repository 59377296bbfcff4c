-- Records a new rebuild unless one of the projection is waiting or active
-- (the partial unique index decides, so two racing requests cannot both win).
--   $1 text  job id   $2 text  projection   $3 int  target version
-- Returns the row when it was inserted, nothing when another rebuild runs.
INSERT INTO refract.rebuilds (job_id, projection, target_version)
VALUES ($1, $2, $3)
ON CONFLICT (projection) WHERE state IN ('waiting', 'active') DO NOTHING
RETURNING *
