-- The last position of the log (0 when empty): one descent of the primary key.
-- Returns head (text: any pool's type parsers read it alike).
SELECT coalesce(max(position), 0)::text AS head FROM refract.events
