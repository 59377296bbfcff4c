-- Up Migration
-- Reactors' effects (packages/projector, reactor.ts): one row per effect key
-- of a reactor. An attempt is recorded in autocommit before the call, the
-- done mark in the batch transaction that moves the reactor's checkpoint, so
-- `attempts > 1` on a done key means it may have been delivered twice.
CREATE TABLE refract.effect_ledger (
  reactor text NOT NULL,
  effect_key text NOT NULL,
  position bigint NOT NULL,
  attempts int NOT NULL DEFAULT 0,
  first_attempt_at timestamptz NOT NULL DEFAULT now(),
  last_attempt_at timestamptz NOT NULL DEFAULT now(),
  done_at timestamptz,
  result jsonb,
  PRIMARY KEY (reactor, effect_key)
);

-- Down Migration
DROP TABLE refract.effect_ledger;
