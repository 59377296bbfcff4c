-- Forgets the checkpoints of a version that is being dropped.
--   $1 text  projection   $2 int  version
DELETE FROM refract.projection_checkpoints WHERE projection = $1 AND version = $2
