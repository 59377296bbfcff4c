-- A reactor's checkpoints, one per partition, at the partition's head when
-- first registered: a reactor added to a running system does not call the
-- outside world for history (`replayReactor` moves them back when asked).
-- Existing ones are kept.
--   $1 text  reactor   $2 int  version   $3 int  partition count
INSERT INTO refract.projection_checkpoints (projection, version, partition, position)
SELECT $1, $2, p,
       coalesce((SELECT max(e.position) FROM refract.events e WHERE e.partition = p), 0)
FROM generate_series(0, $3 - 1) AS p
ON CONFLICT DO NOTHING
