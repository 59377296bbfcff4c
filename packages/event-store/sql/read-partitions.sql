-- The partition count fixed at install (migrate.ts writes it).
-- Returns value (jsonb number); no row before the first migrate.
SELECT value FROM refract.settings WHERE key = 'partitions'
