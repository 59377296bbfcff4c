-- Takes the events a batch parked back out of its partition's applied count:
-- the batch's compare-and-set counted every event of a handled type before
-- the handlers ran. In the batch transaction, on the row it holds.
--   $1 text  projection   $2 int  version   $3 int  partition   $4 bigint  events parked
UPDATE refract.projection_checkpoints
SET applied_events = applied_events - $4
WHERE projection = $1 AND version = $2 AND partition = $3
