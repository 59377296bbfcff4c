-- The waiting or active rebuild of a projection, if any.
--   $1 text  projection
SELECT * FROM refract.rebuilds WHERE projection = $1 AND state IN ('waiting', 'active', 'verifying')
