-- Last step of a counter projection's swap: the rebuilt version becomes live.
--   $1 text  projection   $2 int  the rebuilt version
UPDATE refract.projections SET live_version = $2, updated_at = now() WHERE name = $1
