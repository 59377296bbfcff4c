-- Stores an audit of some partitions of one projection version. Where the
-- partition was found complete only moves forward, with the applied count
-- that belongs to it: an older audit finishing late cannot move it back;
-- except by a full audit that found events missing, which proves the last
-- complete audit wrong and sets it back to where counting started, so the
-- audits after it keep counting what is missing.
--   $1 text  projection   $2 int  version   $3 int[]  partitions
--   $4 bigint[]  checkpoints audited   $5 bigint[]  missing
--   $6 bigint[]  complete through   $7 bigint[]  applied count there
--   $8 boolean  a full audit
INSERT INTO refract.projection_audits AS a
  (projection, version, partition, checkpoint, missing, complete_through, applied_at_complete, audited_at)
SELECT $1, $2, w.partition, w.checkpoint, w.missing, w.complete_through, w.applied_at_complete, now()
FROM unnest($3::int[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[])
  AS w (partition, checkpoint, missing, complete_through, applied_at_complete)
ON CONFLICT (projection, version, partition) DO UPDATE SET
  checkpoint = excluded.checkpoint,
  missing = excluded.missing,
  audited_at = excluded.audited_at,
  complete_through = CASE WHEN $8 AND excluded.missing <> 0 THEN excluded.complete_through
    ELSE greatest(a.complete_through, excluded.complete_through) END,
  applied_at_complete = CASE WHEN ($8 AND excluded.missing <> 0) OR excluded.complete_through >= a.complete_through
    THEN excluded.applied_at_complete ELSE a.applied_at_complete END
