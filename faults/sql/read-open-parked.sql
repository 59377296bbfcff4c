-- The open (unresolved) parked events of each projection's live version: the
-- rows its queries read. A rebuilt projection's previous version is left out.
-- No parameters. Result: one row per parked event (parked_events_all: a row,
-- or a position held in one); `behind` is the position of the parked event
-- it waits for, NULL for an event that failed itself.
SELECT p.projection, p.position::int AS position, p.stream_id, p.behind::int AS behind
FROM refract.parked_events_all p
JOIN refract.projections r ON r.name = p.projection AND r.live_version = p.version
WHERE p.resolution IS NULL
ORDER BY p.projection, p.position
