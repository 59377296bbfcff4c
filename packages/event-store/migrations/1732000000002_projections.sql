-- Up Migration
-- Projections: the registry, per-partition checkpoints and parked events.
-- Read models themselves live in the `projections` schema: tables named
-- <table>_v<version>, and a view <table> on the live version that queries
-- read, so a rebuild can swap versions in one transaction.

CREATE SCHEMA IF NOT EXISTS projections;

CREATE TABLE refract.projections (
  name         text PRIMARY KEY,
  pool         text NOT NULL,
  -- The version queries read and live workers write.
  live_version integer NOT NULL,
  -- Set by the admin API; workers honour it within a second.
  paused       boolean NOT NULL DEFAULT false,
  updated_at   timestamptz NOT NULL DEFAULT now()
);

-- One row per (projection, version, partition): every event of that
-- partition up to `position` has been applied, exactly once. Advanced only
-- by compare-and-set inside the transaction that writes the read model.
CREATE TABLE refract.projection_checkpoints (
  projection text NOT NULL,
  version    integer NOT NULL,
  partition  integer NOT NULL,
  position   bigint NOT NULL DEFAULT 0,
  -- A partition halted on a poison event (onError = 'halt') stops here.
  halted_at  bigint,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (projection, version, partition)
);

-- Events a projection could not apply after its retries (onError = 'park').
CREATE TABLE refract.parked_events (
  id          bigserial PRIMARY KEY,
  projection  text NOT NULL,
  version     integer NOT NULL,
  partition   integer NOT NULL,
  position    bigint NOT NULL,
  stream_id   text NOT NULL,
  event_type  text NOT NULL,
  error       text NOT NULL,
  attempts    integer NOT NULL,
  parked_at   timestamptz NOT NULL DEFAULT now(),
  -- NULL while parked; 'retried' or 'skipped' once resolved from the admin API.
  resolution  text,
  resolved_at timestamptz,
  UNIQUE (projection, version, position)
);
CREATE INDEX parked_events_open_idx ON refract.parked_events (projection, version) WHERE resolution IS NULL;

-- Down Migration
DROP TABLE refract.parked_events;
DROP TABLE refract.projection_checkpoints;
DROP TABLE refract.projections;
DROP SCHEMA projections;
