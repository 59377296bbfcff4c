-- The version of a stream now, or as of a time.
--   $1 text         stream id
--   $2 timestamptz  as of this time (NULL: now)
-- Returns version: -1 when the stream has no event (at that time), NULL when it never existed.
SELECT CASE
         WHEN $2::timestamptz IS NULL THEN (SELECT version FROM refract.streams WHERE stream_id = $1)
         ELSE (SELECT coalesce(max(version), -1) FROM refract.events
               WHERE stream_id = $1 AND created_at <= $2)
       END AS version
