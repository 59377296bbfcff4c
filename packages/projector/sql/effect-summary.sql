-- Per reactor: effects done once (exactly-once), done after more than one
-- attempt (at-least-once: the call may have reached its target twice), and
-- attempted but not done (in flight, failing, or parked).
--   $1 text[]  reactors
-- Returns reactor, delivered, exactly_once, at_least_once, pending.
SELECT reactor,
       count(*) FILTER (WHERE done_at IS NOT NULL)::int AS delivered,
       count(*) FILTER (WHERE done_at IS NOT NULL AND attempts <= 1)::int AS exactly_once,
       count(*) FILTER (WHERE done_at IS NOT NULL AND attempts > 1)::int AS at_least_once,
       count(*) FILTER (WHERE done_at IS NULL)::int AS pending
FROM refract.effect_ledger
WHERE reactor = ANY ($1)
GROUP BY reactor
ORDER BY reactor
