-- Every version of a projection that has checkpoints (live, being built, retired).
--   $1 text  projection
SELECT DISTINCT version FROM refract.projection_checkpoints WHERE projection = $1
