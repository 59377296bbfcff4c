-- A batch of one append: the same verdict row as append-batch.sql, from a
-- lighter function (see migrations 1732000000006 and 1732000000015).
--   $1 text stream   $2 int partition   $3 bigint expected version
--   $4 boolean look for stored ids   $5 uuid[] event ids   $6 text[] types
--   $7 int[] schema versions   $8 jsonb data   $9 jsonb metadata (JSON arrays,
--   one element per event)
--   $10 text NOTIFY channel
SELECT ord, status, actual, first_version, last_version, first_position, last_position, event_id
FROM refract.append_one($1::text, $2::int, $3::bigint, $4::boolean, $5::uuid[], $6::text[],
                        $7::int[], $8::jsonb, $9::jsonb, $10::text)
