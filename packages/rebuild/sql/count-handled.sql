-- Events of the handled types in a range of positions: the progress total,
-- counted a range at a time so that a report does not scan the whole log.
--   $1 bigint  after this position   $2 bigint  up to and including this one
--   $3 text[]  the handled types
SELECT count(*)::bigint AS n
FROM refract.events
WHERE position > $1 AND position <= $2 AND type = ANY ($3)
