-- One checkpoint at 0 per partition of a projection version; existing ones are kept.
--   $1 text  projection   $2 int  version   $3 int  partition count
INSERT INTO refract.projection_checkpoints (projection, version, partition)
SELECT $1, $2, p FROM generate_series(0, $3 - 1) AS p
ON CONFLICT DO NOTHING
