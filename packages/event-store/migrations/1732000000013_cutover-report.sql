-- Up Migration
-- The verified cutover: before the swap a rebuild compares v+1 with the live
-- v at the same checkpoints. A difference nobody declared holds the rebuild
-- in 'verifying' (v keeps serving) until an operator approves or cancels it.
-- The row keeps what was declared, the report, and the approval, so every
-- process (admin, the worker resuming the job) reads them from one place.
ALTER TABLE refract.rebuilds DROP CONSTRAINT rebuilds_state_check;
ALTER TABLE refract.rebuilds ADD CONSTRAINT rebuilds_state_check
  CHECK (state IN ('waiting', 'active', 'verifying', 'completed', 'failed', 'cancelled'));
-- What may differ: {"any": true} or {"columns": ["table.column", "column", ...]}.
ALTER TABLE refract.rebuilds ADD COLUMN expect_changes jsonb NOT NULL DEFAULT '{"columns": []}';
-- The last comparison: counts, checksums per key partition, first differing keys.
ALTER TABLE refract.rebuilds ADD COLUMN cutover_report jsonb;
-- Set by `approve`: the next run swaps without holding again.
ALTER TABLE refract.rebuilds ADD COLUMN approved boolean NOT NULL DEFAULT false;

-- A held rebuild still owns its projection: v+1 is kept for the approval.
DROP INDEX refract.rebuilds_one_running;
CREATE UNIQUE INDEX rebuilds_one_running ON refract.rebuilds (projection)
  WHERE state IN ('waiting', 'active', 'verifying');

-- Down Migration
DROP INDEX refract.rebuilds_one_running;
CREATE UNIQUE INDEX rebuilds_one_running ON refract.rebuilds (projection)
  WHERE state IN ('waiting', 'active');
ALTER TABLE refract.rebuilds DROP COLUMN approved;
ALTER TABLE refract.rebuilds DROP COLUMN cutover_report;
ALTER TABLE refract.rebuilds DROP COLUMN expect_changes;
UPDATE refract.rebuilds SET state = 'cancelled', finished_at = now() WHERE state = 'verifying';
ALTER TABLE refract.rebuilds DROP CONSTRAINT rebuilds_state_check;
ALTER TABLE refract.rebuilds ADD CONSTRAINT rebuilds_state_check
  CHECK (state IN ('waiting', 'active', 'completed', 'failed', 'cancelled'));
