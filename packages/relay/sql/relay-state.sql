-- The relay as an operator sees it from the database: who leads (the session
-- holding the relay's advisory lock), how far it has published, the log's
-- head, and whether it is held by a gap (the next position is not visible
-- while later ones are). Primary-key lookups only.
--   $1 text  relay name   $2 oid  lock class id   $3 oid  lock object id
--   $4 int   count unpublished events exactly up to this many
-- Returns one row: leader (json or NULL), published, head, lag, next_visible,
-- checkpoint_age_s (seconds since the checkpoint last moved, NULL before the first).
WITH cp AS (
  SELECT position, updated_at FROM refract.relay_checkpoints WHERE name = $1
), published AS (
  SELECT coalesce((SELECT position FROM cp), 0) AS position
)
SELECT
  (SELECT json_build_object(
            'pid', a.pid, 'application', a.application_name,
            'address', host(a.client_addr), 'connectedAt', a.backend_start)
     FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
     WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $2 AND l.objid = $3
       AND l.objsubid = 2
       AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
     LIMIT 1) AS leader,
  published.position AS published,
  (SELECT coalesce(max(position), 0) FROM refract.events) AS head,
  (SELECT count(*) FROM (
     SELECT 1 FROM refract.events WHERE position > published.position LIMIT $4
   ) AS unpublished) AS lag,
  EXISTS (SELECT 1 FROM refract.events WHERE position = published.position + 1) AS next_visible,
  (SELECT extract(epoch FROM now() - updated_at)::float8 FROM cp) AS checkpoint_age_s
FROM published
