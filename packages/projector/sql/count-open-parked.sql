-- Open (unresolved) parked events per projection, on parked_events_open_idx.
-- No parameters. Returns projection, open.
SELECT projection, count(*) AS open
FROM refract.parked_events
WHERE resolution IS NULL
GROUP BY projection
