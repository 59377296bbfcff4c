-- The last position of the log (0 when empty): one descent of the primary key.
-- Returns head (text).
SELECT coalesce(max(position), 0)::text AS head FROM refract.events
