-- What the completeness audit counts as parked: every event a batch of this
-- version recorded in refract.parked_events instead of applying it, whatever
-- became of it since (still open, retried or skipped): a retry applies it
-- without touching the applied count, so each event is counted once, here.
-- An event that failed itself is a row; one held behind its stream's failed
-- event is a position in that row's `held` (quarantine.ts). The one place
-- the audit knows how parked events are stored.
--   $1 text  projection   $2 int  version
--   $3 int[]  partitions   $4 bigint[]  counted after   $5 bigint[]  up to
-- Returns partition, parked.
SELECT w.partition, n.parked
FROM unnest($3::int[], $4::bigint[], $5::bigint[]) AS w (partition, after, through)
CROSS JOIN LATERAL (
  SELECT coalesce(sum(
           (p.position > w.after AND p.position <= w.through)::int
           + (SELECT count(*) FROM unnest(p.held) AS h (position)
              WHERE h.position > w.after AND h.position <= w.through)
         ), 0) AS parked
  FROM refract.parked_events AS p
  WHERE p.projection = $1 AND p.version = $2 AND p.partition = w.partition
) AS n
