-- Stores a snapshot unless a newer one (for the same state shape) is there already.
--   $1 text  stream id   $2 text  decider name   $3 int  snapshot version
--   $4 bigint  stream version the state includes   $5 jsonb  state
INSERT INTO refract.snapshots (stream_id, name, snapshot_version, stream_version, state)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (stream_id, name) DO UPDATE
SET snapshot_version = EXCLUDED.snapshot_version,
    stream_version = EXCLUDED.stream_version,
    state = EXCLUDED.state,
    created_at = now()
WHERE refract.snapshots.snapshot_version <> EXCLUDED.snapshot_version
   OR refract.snapshots.stream_version < EXCLUDED.stream_version
