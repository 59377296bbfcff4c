-- Up Migration
-- Quarantine and the circuit breaker (issue 17).
--
-- A parked event quarantines its stream for its projection version: the
-- stream's later events are parked behind it (recorded, never applied) until
-- it is retried or skipped, so a stream's events are always applied in
-- order. `behind` is the position of the parked event a row waits for (NULL
-- for the event that failed itself).
ALTER TABLE refract.parked_events ADD COLUMN behind bigint;
-- Is this stream quarantined in this partition? Asked in batch transactions
-- of a partition known to have open parked events, and by retries per stream.
CREATE INDEX parked_events_open_stream_idx
  ON refract.parked_events (projection, version, partition, stream_id, position)
  WHERE resolution IS NULL;

-- A projection that parked more than its threshold is tripped: its workers
-- leave it, as if paused, until it is resumed. The reason says why, once.
ALTER TABLE refract.projections ADD COLUMN tripped_at timestamptz;
ALTER TABLE refract.projections ADD COLUMN trip_reason text;

-- Down Migration
ALTER TABLE refract.projections DROP COLUMN trip_reason;
ALTER TABLE refract.projections DROP COLUMN tripped_at;
DROP INDEX refract.parked_events_open_stream_idx;
ALTER TABLE refract.parked_events DROP COLUMN behind;
