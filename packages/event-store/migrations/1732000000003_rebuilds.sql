-- Up Migration
-- Rebuild jobs. BullMQ runs them; this table is their record of truth: it
-- makes "one rebuild per projection at a time" a unique index (two admin
-- requests that race cannot both win), carries the cancel flag that every
-- process running a share of the job polls, and keeps the outcome after
-- BullMQ has trimmed the job from Redis.
CREATE TABLE refract.rebuilds (
  job_id            text PRIMARY KEY,
  projection        text NOT NULL,
  state             text NOT NULL DEFAULT 'waiting'
                    CHECK (state IN ('waiting', 'active', 'completed', 'failed', 'cancelled')),
  -- The version being built; fixed at enqueue (live + 1).
  target_version    integer NOT NULL,
  -- Events of the handled types applied to the target version, summed over
  -- every process and attempt that worked on the job.
  processed         bigint NOT NULL DEFAULT 0,
  -- Events of the handled types in the log at the last progress report.
  total             bigint NOT NULL DEFAULT 0,
  -- Partition shares run as child jobs (empty when one process replays all).
  shares            jsonb NOT NULL DEFAULT '[]',
  cancel_requested  boolean NOT NULL DEFAULT false,
  error             text,
  -- How long live workers waited on the swap (the pause of invariant 10).
  swap_pause_ms     double precision,
  created_at        timestamptz NOT NULL DEFAULT now(),
  started_at        timestamptz,
  finished_at       timestamptz
);

CREATE UNIQUE INDEX rebuilds_one_running ON refract.rebuilds (projection)
  WHERE state IN ('waiting', 'active');

CREATE INDEX rebuilds_by_projection ON refract.rebuilds (projection, created_at DESC);

-- Down Migration
DROP TABLE refract.rebuilds;
