-- The whole event log in position order: what the read models must be the fold of.
-- No parameters. Result: one row per stored event.
SELECT position::int AS position, event_id::text AS event_id, stream_id, version::int AS version,
       type, data
FROM refract.events
ORDER BY position
