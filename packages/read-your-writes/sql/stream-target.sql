-- The stream's last event at or below a position (0 when none): one probe of
-- the (stream_id, version) index.
--   $1 text    stream id
--   $2 bigint  position
-- Returns target (text).
SELECT coalesce(max(position), 0)::text AS target
FROM refract.events WHERE stream_id = $1 AND position <= $2
