-- The parked events of a projection, open ones first, newest first.
--   $1 text  projection   $2 boolean  include resolved ones
SELECT * FROM refract.parked_events
WHERE projection = $1 AND ($2 OR resolution IS NULL)
ORDER BY resolution NULLS FIRST, id DESC LIMIT 1000
