-- Removes every projection (tables, query views, registry rows, checkpoints,
-- parked events), so the next workers register them as on a fresh database.
DROP SCHEMA projections CASCADE;
CREATE SCHEMA projections;
TRUNCATE refract.projections, refract.projection_checkpoints, refract.parked_events CASCADE;
