-- One parked event of a projection that has a row, by its id.
--   $1 bigint  id   $2 text  projection
SELECT * FROM refract.parked_events WHERE id = $1 AND projection = $2
