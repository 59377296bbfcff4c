-- The parked events of a projection (rows and held positions,
-- parked_events_all), open ones first, newest first.
--   $1 text  projection   $2 boolean  include resolved ones
SELECT * FROM refract.parked_events_all
WHERE projection = $1 AND ($2 OR resolution IS NULL)
ORDER BY resolution NULLS FIRST, position DESC LIMIT 1000
