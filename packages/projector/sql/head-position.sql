-- The last position of the log (0 when empty): one descent of the primary key.
SELECT coalesce(max(position), 0) AS head FROM refract.events
