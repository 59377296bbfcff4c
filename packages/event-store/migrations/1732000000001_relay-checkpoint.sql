-- Up Migration
-- The relay's place in the log. It lives in Postgres, not Redis, so a Redis
-- that lost its data does not make the relay forget what it published.
CREATE TABLE refract.relay_checkpoints (
  name       text PRIMARY KEY,
  -- Every position up to here is published, or was a gap proven final.
  position   bigint NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Down Migration
DROP TABLE refract.relay_checkpoints;
