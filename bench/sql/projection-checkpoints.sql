-- The checkpoints of the live versions of some projections.
--   $1 text[]  projection names
SELECT c.projection, c.partition, c.position
FROM refract.projection_checkpoints AS c
JOIN refract.projections AS p ON p.name = c.projection AND p.live_version = c.version
WHERE c.projection = ANY ($1)
