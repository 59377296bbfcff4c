-- One page of events as the relay publishes them, for the raw XADD baseline:
-- the same envelope JSON the relay builds (packages/relay/sql/read-after.sql),
-- so the baseline writes byte for byte the same entries.
--   $1 bigint  positions after this one   $2 int  at most this many rows
SELECT position, partition,
       json_build_object(
         'id', event_id, 'streamId', stream_id, 'type', type, 'version', version,
         'position', position, 'partition', partition, 'schemaVersion', schema_version,
         'data', data, 'metadata', metadata, 'createdAt', created_at
       )::text AS envelope
FROM refract.events
WHERE position > $1
ORDER BY position
LIMIT $2
