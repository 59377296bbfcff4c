-- Up Migration
-- The event log. Every object lives in the `refract` schema so Refract never
-- collides with an application's own tables.

CREATE SCHEMA IF NOT EXISTS refract;

-- Install-time facts that must never change afterwards (the partition count).
CREATE TABLE refract.settings (
  key   text PRIMARY KEY,
  value jsonb NOT NULL
);

-- CACHE 1: with a per-session cache, sessions would hand out positions far
-- out of order and the relay would wait on gaps that are really just cached
-- values of another session.
CREATE SEQUENCE refract.events_position_seq AS bigint START 1 CACHE 1;

-- One row per stream: the current version, locked by appends so that
-- expected-version checks are a primary-key lookup, not a max() over events.
-- version = -1 means the stream has no events (yet).
CREATE TABLE refract.streams (
  stream_id  text PRIMARY KEY,
  version    bigint NOT NULL,
  partition  integer NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE refract.events (
  position       bigint PRIMARY KEY,
  stream_id      text NOT NULL,
  version        bigint NOT NULL,
  partition      integer NOT NULL,
  event_id       uuid NOT NULL,
  type           text NOT NULL,
  schema_version integer NOT NULL DEFAULT 1,
  data           jsonb NOT NULL,
  metadata       jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at     timestamptz NOT NULL DEFAULT now(),
  -- The appending transaction, taken before it drew its positions: lets the
  -- relay tell a gap that can still fill from one that never will.
  tx_id          xid8 NOT NULL,
  CONSTRAINT events_stream_version_key UNIQUE (stream_id, version),
  CONSTRAINT events_stream_event_id_key UNIQUE (stream_id, event_id)
);

-- The relay, catch-up readers and rebuilds read one partition in position order.
CREATE INDEX events_partition_position_idx ON refract.events (partition, position);

-- The folded state of a stream at a version, per decider (name) and state shape (snapshot_version).
CREATE TABLE refract.snapshots (
  stream_id        text NOT NULL,
  name             text NOT NULL,
  snapshot_version integer NOT NULL,
  stream_version   bigint NOT NULL,
  state            jsonb NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (stream_id, name)
);

-- Down Migration
DROP SCHEMA refract CASCADE;
