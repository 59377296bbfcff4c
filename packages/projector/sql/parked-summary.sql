-- Per projection with open parked events: quarantined streams, and the most
-- frequent error messages of the events that failed themselves (at most $1
-- per projection), on parked_events_open_stream_idx.
--   $1 int  messages per projection
WITH open AS (
  SELECT projection, stream_id, error, behind FROM refract.parked_events WHERE resolution IS NULL
), streams AS (
  SELECT projection, count(DISTINCT stream_id)::int AS streams FROM open GROUP BY projection
), errors AS (
  SELECT projection, error, count(*)::int AS events,
         row_number() OVER (PARTITION BY projection ORDER BY count(*) DESC, error) AS rank
  FROM open WHERE behind IS NULL GROUP BY projection, error
)
SELECT s.projection, s.streams,
       coalesce(jsonb_agg(jsonb_build_object('message', e.error, 'events', e.events)
                ORDER BY e.rank) FILTER (WHERE e.error IS NOT NULL), '[]') AS top_errors
FROM streams s
LEFT JOIN errors e ON e.projection = s.projection AND e.rank <= $1
GROUP BY s.projection, s.streams
