-- One parked event of a projection by position, whether it has a row or is
-- held in one (parked_events_all): the open one first, then the newest
-- version's. How a held event (listed with minus its position as its id) is
-- found.
--   $1 bigint  position   $2 text  projection
SELECT * FROM refract.parked_events_all
WHERE position = $1 AND projection = $2
ORDER BY resolution NULLS FIRST, version DESC, id DESC
LIMIT 1
