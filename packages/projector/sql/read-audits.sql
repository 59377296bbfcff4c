-- The latest stored audit of every partition of the live versions.
-- No parameters. Returns projection, version, partition, checkpoint, missing,
-- complete_through, audited_at (NULL: a baseline no audit has checked yet).
SELECT a.projection, a.version, a.partition, a.checkpoint, a.missing, a.complete_through, a.audited_at
FROM refract.projection_audits AS a
JOIN refract.projections AS p ON p.name = a.projection AND p.live_version = a.version
ORDER BY a.projection, a.partition
