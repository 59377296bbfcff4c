-- Makes a version of a projection the live one.
--   $1 text  projection   $2 int  version
UPDATE refract.projections SET live_version = $2, updated_at = now() WHERE name = $1
