-- Reads one stream in version order.
--   $1 text         stream id
--   $2 bigint       first version to return
--   $3 int          at most this many events
--   $4 timestamptz  only events appended at or before this time (NULL: all)
SELECT position, stream_id, version, partition, event_id, type, schema_version, data, metadata,
       created_at
FROM refract.events
WHERE stream_id = $1 AND version >= $2 AND ($4::timestamptz IS NULL OR created_at <= $4)
ORDER BY version
LIMIT $3
