-- The latest rebuilds of the given projections, newest first, finished or not
-- (on rebuilds_by_projection).
--   $1 text[]  projections
--   $2 int     how many
SELECT * FROM refract.rebuilds WHERE projection = ANY($1) ORDER BY created_at DESC LIMIT $2
