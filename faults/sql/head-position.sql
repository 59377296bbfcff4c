-- The position of the last stored event (0 for an empty log). No parameters.
-- Result: one row, `head`.
SELECT coalesce(max(position), 0)::bigint::text AS head FROM refract.events
