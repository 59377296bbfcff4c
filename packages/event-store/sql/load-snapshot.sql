-- The latest snapshot of a stream for one decider and state shape.
--   $1 text  stream id   $2 text  decider name   $3 int  snapshot version
SELECT stream_version, state
FROM refract.snapshots
WHERE stream_id = $1 AND name = $2 AND snapshot_version = $3
