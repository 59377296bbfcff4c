-- A live (unexpired) idempotency key's stored result; no row when absent or expired.
--   $1 text key
SELECT stream_id, version, position, request_hash
FROM refract.idempotency_keys
WHERE idempotency_key = $1 AND expires_at > now()
