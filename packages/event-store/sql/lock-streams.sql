-- Locks the streams of one append transaction and returns their versions.
--   $1 text[]  stream ids, distinct
--   $2 int[]   their partitions
-- Returns one row per stream: stream_id, version (-1 for a new stream).
-- Rows are locked in stream id order, so two transactions that touch the same
-- streams cannot deadlock. A new stream gets a placeholder row (version -1)
-- that the append fills in or deletes again.
INSERT INTO refract.streams AS s (stream_id, version, partition)
SELECT t.stream_id, -1, t.partition
FROM unnest($1::text[], $2::int[]) AS t (stream_id, partition)
ORDER BY t.stream_id
ON CONFLICT (stream_id) DO UPDATE SET updated_at = s.updated_at
RETURNING s.stream_id, s.version
