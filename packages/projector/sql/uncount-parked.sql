-- Takes the events a batch parked back out of their partitions' applied
-- counts: the batch's compare-and-set counted every event of a handled type
-- before the handlers ran. In the batch transaction, on rows it holds.
--   $1 text  projection   $2 int  version   $3 int[]  partitions   $4 int[]  events parked
UPDATE refract.projection_checkpoints AS c
SET applied_events = c.applied_events - u.parked
FROM unnest($3::int[], $4::int[]) AS u (partition, parked)
WHERE c.projection = $1 AND c.version = $2 AND c.partition = u.partition
