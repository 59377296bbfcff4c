-- Open (unresolved) parked events per projection, each row counting itself
-- and the events held behind it; on parked_events_open_stream_idx.
-- No parameters. Returns projection, open.
SELECT projection, sum(1 + cardinality(held)) AS open
FROM refract.parked_events
WHERE resolution IS NULL
GROUP BY projection
