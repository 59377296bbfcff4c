-- The highest committed position in the log, for the relay's lag metric
-- (a backward scan of the primary key: one index entry).
--   no parameters
-- Returns head (0 for an empty log).
SELECT coalesce(max(position), 0)::bigint AS head FROM refract.events
