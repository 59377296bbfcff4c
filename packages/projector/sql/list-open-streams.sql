-- A page of a projection's quarantined streams (those with an open parked
-- event), by stream id after a cursor, each with its open events in order:
-- the one that failed, then those held behind it (parked_events_all).
--   $1 text  projection   $2 text  the last stream id of the previous page ('' for the first)
--   $3 int  streams per page
WITH streams AS (
  SELECT DISTINCT stream_id FROM refract.parked_events
  WHERE projection = $1 AND resolution IS NULL AND stream_id > $2
  ORDER BY stream_id
  LIMIT $3
)
SELECT p.* FROM refract.parked_events_all p
JOIN streams s ON s.stream_id = p.stream_id
WHERE p.projection = $1 AND p.resolution IS NULL
ORDER BY p.stream_id, p.version, p.position
