-- A keyed command's append: claims the key, appends and records the result
-- in one call (see migration 1732000000007). One row: status 'written',
-- 'stored' (the key is live: its stored result and request hash) or
-- 'wrong_version' (version = the stream's version; nothing kept).
--   $1 text key   $2 bytea request hash   $3 float8 seconds the key lives
--   $4 text stream   $5 int partition   $6 bigint expected version
--   $7 uuid[] event ids   $8 text[] types   $9 int[] schema versions
--   $10 jsonb[] data   $11 jsonb[] metadata   $12 text NOTIFY channel
SELECT status, stream_id, version, last_position AS position, request_hash
FROM refract.append_keyed($1::text, $2::bytea, $3::float8, $4::text, $5::int, $6::bigint,
                          $7::uuid[], $8::text[], $9::int[], $10::jsonb[], $11::jsonb[],
                          $12::text)
