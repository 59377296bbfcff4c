-- One group-commit batch: locks, checks and writes every append of it and
-- returns one verdict row per append (see migrations 1732000000004 and
-- 1732000000015).
--   $1 text[] streams   $2 int[] partitions   $3 bigint[] expected versions
--   $4 int[] event counts   $5 boolean[] look for stored ids
--   $6 int[] each event's append (1-based)   $7 int[] its offset in the append
--   $8 uuid[] event ids   $9 text[] types   $10 int[] schema versions
--   $11 jsonb data   $12 jsonb metadata (JSON arrays, one element per event)
--   $13 text NOTIFY channel
SELECT ord, status, actual, first_version, last_version, first_position, last_position, event_id
FROM refract.append_batch($1::text[], $2::int[], $3::bigint[], $4::int[], $5::boolean[],
                          $6::int[], $7::int[], $8::uuid[], $9::text[], $10::int[],
                          $11::jsonb, $12::jsonb, $13::text)
