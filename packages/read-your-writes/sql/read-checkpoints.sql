-- The live version's checkpoints of the named projections.
--   $1 text[]  projection names
-- Returns one row per (projection, partition) of the live version:
--   name, live_version, partition, position (text: any pool's type parsers read it alike)
SELECT p.name, p.live_version, c.partition, c.position::text AS position
FROM refract.projections AS p
JOIN refract.projection_checkpoints AS c ON c.projection = p.name AND c.version = p.live_version
WHERE p.name = ANY($1::text[])
