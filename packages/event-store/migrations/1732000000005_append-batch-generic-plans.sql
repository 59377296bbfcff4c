-- Up Migration
-- PL/pgSQL plans a statement whose parameters are its variables with their
-- values (a custom plan) until a generic plan looks no dearer, and for
-- append_batch's statements, arrays of unknown length, it never does: every
-- call planned the whole batch statement again, which was half of what a
-- one-event append cost Postgres. The plans are key lookups whatever the
-- arrays hold (table scans are ruled out), so one generic plan per session
-- serves every batch.
ALTER FUNCTION refract.append_batch(text[], int[], bigint[], int[], boolean[], int[], int[], uuid[],
  text[], int[], jsonb[], jsonb[], text)
  SET plan_cache_mode = force_generic_plan;

-- Down Migration
ALTER FUNCTION refract.append_batch(text[], int[], bigint[], int[], boolean[], int[], int[], uuid[],
  text[], int[], jsonb[], jsonb[], text)
  RESET plan_cache_mode;
