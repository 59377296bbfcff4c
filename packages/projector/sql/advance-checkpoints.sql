-- The compare-and-set of every exactly-once batch transaction
-- (commit-with-checkpoints.ts), sent first: moves each checkpoint from where
-- its reader saw it to where its batch ends, adds the events of handled
-- types the batch applies to the partition's applied count (the
-- completeness audit's; in this statement, so it moves with the checkpoint
-- or not at all), and sends its notice (delivered at commit). The rows are
-- locked in (projection, version, partition) order, so two such statements,
-- or one and a rebuild's swap, wait for each other and never deadlock.
--   One move per index of the arrays:
--   $1 text[]  projection   $2 int[]  version   $3 int[]  partition
--   $4 bigint[]  the position each batch starts after   $5 bigint[]  where it ends
--   $6 text  the notification channel   $7 text[]  each batch's notice
--   $8 bigint[]  events of handled types each batch applies
-- Returns `moved`: how many checkpoints moved. Fewer than asked means one
-- was not where its reader believed (or is halted): the transaction rolls back.
WITH wanted AS (
  SELECT *
  FROM unnest($1::text[], $2::int[], $3::int[], $4::bigint[], $5::bigint[], $7::text[], $8::bigint[])
    AS w(projection, version, partition, after, through, notice, applied)
),
locked AS (
  SELECT c.projection, c.version, c.partition, w.through, w.notice, w.applied
  FROM refract.projection_checkpoints AS c
  JOIN wanted AS w
    ON c.projection = w.projection AND c.version = w.version AND c.partition = w.partition
  WHERE c.position = w.after AND c.halted_at IS NULL
  ORDER BY c.projection, c.version, c.partition
  FOR UPDATE OF c
),
moved AS (
  UPDATE refract.projection_checkpoints AS c
  SET position = l.through, applied_events = c.applied_events + l.applied, updated_at = now()
  FROM locked AS l
  WHERE c.projection = l.projection AND c.version = l.version AND c.partition = l.partition
  RETURNING pg_notify($6, l.notice)
)
SELECT count(*)::int AS moved FROM moved
