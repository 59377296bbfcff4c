-- One event row, as the raw baselines write it: every column the event store
-- writes, the position from the same sequence, the transaction id the relay
-- needs. No stream row, no checks: the ceiling the write path is compared to.
--   $1 text  stream id   $2 bigint  version   $3 int  partition   $4 uuid  event id
--   $5 text  type        $6 int     schema version
--   $7 jsonb data        $8 jsonb   metadata
-- The multi-row baseline repeats the VALUES tuple with its parameters
-- renumbered (see baselines/multi-row-insert.ts).
INSERT INTO refract.events
  (position, stream_id, version, partition, event_id, type, schema_version, data, metadata, tx_id)
VALUES
  (nextval('refract.events_position_seq'), $1, $2, $3, $4, $5, $6, $7, $8, pg_current_xact_id())
