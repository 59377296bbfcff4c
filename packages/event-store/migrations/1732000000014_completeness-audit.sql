-- Up Migration
-- The completeness audit (issue 19, part 3).
--
-- `applied_events`: how many events of handled types this version has
-- applied in the partition, added by the statement that moves the
-- checkpoint (advance-checkpoints.sql), so it moves with the checkpoint or
-- not at all: exact through crashes and retried batches. Events parked by a
-- batch are not counted there: they are counted from `parked_events`.
ALTER TABLE refract.projection_checkpoints ADD COLUMN applied_events bigint NOT NULL DEFAULT 0;

-- The latest audit of each partition of a projection version, and where it
-- was last found complete: the next audit counts only the log after
-- `complete_through` (with the applied count as it stood there), so an audit
-- of a large log reads what is new since the last complete one.
CREATE TABLE refract.projection_audits (
  projection          text NOT NULL,
  version             integer NOT NULL,
  partition           integer NOT NULL,
  -- Where applied_events started counting (at 0): the checkpoint when this
  -- migration ran, 0 for a version registered after it. A full audit counts from here.
  counted_from        bigint NOT NULL DEFAULT 0,
  -- The checkpoint at the last audit that found the partition complete (0: none yet).
  complete_through    bigint NOT NULL DEFAULT 0,
  -- applied_events at that audit.
  applied_at_complete bigint NOT NULL DEFAULT 0,
  -- The latest audit: the checkpoint it audited up to, and how many events of
  -- handled types at or below it were neither applied nor parked.
  checkpoint          bigint NOT NULL DEFAULT 0,
  missing             bigint NOT NULL DEFAULT 0,
  -- NULL for a baseline row (written below) that no audit has checked yet.
  audited_at          timestamptz,
  PRIMARY KEY (projection, version, partition)
);

-- Events applied before this migration were never counted: the audit takes
-- each existing checkpoint as its starting point and audits what comes after.
INSERT INTO refract.projection_audits (projection, version, partition, counted_from, complete_through, checkpoint)
SELECT projection, version, partition, position, position, position
FROM refract.projection_checkpoints
WHERE position > 0;

-- Down Migration
DROP TABLE refract.projection_audits;
ALTER TABLE refract.projection_checkpoints DROP COLUMN applied_events;
