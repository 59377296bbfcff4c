-- Up Migration
-- A quarantined stream recorded compactly (issue 17's poison bench): the
-- events parked behind a stream's failed event are no longer one row each
-- (in a poison flood they were most of the log, and their inserts and index
-- entries most of the database's work), but positions in `held` on the row
-- of the event they wait for. The events themselves are in refract.events:
-- a retry or skip reads them from there, in position order.
ALTER TABLE refract.parked_events ADD COLUMN held bigint[] NOT NULL DEFAULT '{}';
-- Each batch of a flood extends the open rows of its streams: room on their
-- pages lets those updates stay heap-only (no new index entries, which a
-- batch's lookups would otherwise wade through until a vacuum).
ALTER TABLE refract.parked_events SET (fillfactor = 50);
-- The open rows by projection version only: parked_events_open_stream_idx
-- (projection, version, partition, stream_id, position) serves the same
-- queries, and with this one beside it the planner took it for a batch's
-- per-stream lookups, reading every open row of the version each time.
DROP INDEX refract.parked_events_open_idx;
-- The same for the (projection, version, position) key: on a table grown
-- faster than its statistics (a flood, with autovacuum behind) the planner
-- costed it like parked_events_open_stream_idx for a batch's per-stream
-- lookups and took it, reading every row of the version per stream. Keyed
-- position first, it serves only lookups by position (and ON CONFLICT, which
-- infers it from the columns whatever their order).
ALTER TABLE refract.parked_events DROP CONSTRAINT parked_events_projection_version_position_key;
ALTER TABLE refract.parked_events ADD CONSTRAINT parked_events_position_key
  UNIQUE (position, projection, version);

-- Open rows held behind a head move into its `held`. An open held row whose
-- head is gone (none such is written, but a skip of the head at any time
-- before this migration released them) is kept as a row of its own.
UPDATE refract.parked_events AS h SET held = b.positions
FROM (
  SELECT projection, version, behind, array_agg(position ORDER BY position) AS positions
  FROM refract.parked_events
  WHERE resolution IS NULL AND behind IS NOT NULL
  GROUP BY projection, version, behind
) AS b
WHERE h.projection = b.projection AND h.version = b.version AND h.position = b.behind
  AND h.resolution IS NULL;
DELETE FROM refract.parked_events AS b
USING refract.parked_events AS h
WHERE b.resolution IS NULL AND b.behind IS NOT NULL
  AND h.projection = b.projection AND h.version = b.version AND h.position = b.behind
  AND h.resolution IS NULL;

-- Every parked event as a row: those of parked_events, and each held
-- position of an open or resolved one, which has no row (its id is minus its
-- position; its parked_at and resolved_at are its head's). A resolved row
-- keeps in `held` only the events applied with it: theirs is `retried`.
-- What listings, the CLI and the checks read.
CREATE VIEW refract.parked_events_all AS
SELECT p.id, p.projection, p.version, p.partition, p.position, p.stream_id, p.event_type,
       p.error, p.attempts, p.parked_at, p.resolution, p.resolved_at, p.behind
FROM refract.parked_events AS p
UNION ALL
SELECT -h.position, p.projection, p.version, p.partition, h.position, p.stream_id, e.type,
       format('quarantined behind the parked event at position %s', p.position), 0,
       p.parked_at, CASE WHEN p.resolution IS NOT NULL THEN 'retried' END, p.resolved_at,
       p.position
FROM refract.parked_events AS p
CROSS JOIN LATERAL unnest(p.held) AS h (position)
JOIN refract.events AS e ON e.position = h.position;

-- The breaker's count (migration 010) counts an open row and what it holds.
CREATE OR REPLACE FUNCTION refract.count_parked_open() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    UPDATE refract.projection_checkpoints AS c SET parked_open = c.parked_open + d.delta
    FROM (
      SELECT projection, version, partition, sum(1 + cardinality(held)) AS delta FROM new_rows
      WHERE resolution IS NULL GROUP BY projection, version, partition
    ) AS d
    WHERE c.projection = d.projection AND c.version = d.version AND c.partition = d.partition;
  ELSIF TG_OP = 'DELETE' THEN
    UPDATE refract.projection_checkpoints AS c SET parked_open = c.parked_open - d.delta
    FROM (
      SELECT projection, version, partition, sum(1 + cardinality(held)) AS delta FROM old_rows
      WHERE resolution IS NULL GROUP BY projection, version, partition
    ) AS d
    WHERE c.projection = d.projection AND c.version = d.version AND c.partition = d.partition;
  ELSE
    UPDATE refract.projection_checkpoints AS c SET parked_open = c.parked_open + d.delta
    FROM (
      SELECT n.projection, n.version, n.partition,
             sum(CASE WHEN n.resolution IS NULL THEN 1 + cardinality(n.held) ELSE 0 END
                 - CASE WHEN o.resolution IS NULL THEN 1 + cardinality(o.held) ELSE 0 END) AS delta
      FROM new_rows AS n JOIN old_rows AS o ON o.id = n.id
      GROUP BY n.projection, n.version, n.partition
    ) AS d
    WHERE d.delta <> 0
      AND c.projection = d.projection AND c.version = d.version AND c.partition = d.partition;
  END IF;
  RETURN NULL;
END;
$$;

UPDATE refract.projection_checkpoints AS c SET parked_open = coalesce(p.open, 0)
FROM refract.projection_checkpoints AS k
LEFT JOIN (
  SELECT projection, version, partition, sum(1 + cardinality(held)) AS open
  FROM refract.parked_events WHERE resolution IS NULL
  GROUP BY projection, version, partition
) AS p ON p.projection = k.projection AND p.version = k.version AND p.partition = k.partition
WHERE c.projection = k.projection AND c.version = k.version AND c.partition = k.partition;

-- Down Migration
CREATE OR REPLACE FUNCTION refract.count_parked_open() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    UPDATE refract.projection_checkpoints AS c SET parked_open = c.parked_open + d.delta
    FROM (
      SELECT projection, version, partition, count(*) AS delta FROM new_rows
      WHERE resolution IS NULL GROUP BY projection, version, partition
    ) AS d
    WHERE c.projection = d.projection AND c.version = d.version AND c.partition = d.partition;
  ELSIF TG_OP = 'DELETE' THEN
    UPDATE refract.projection_checkpoints AS c SET parked_open = c.parked_open - d.delta
    FROM (
      SELECT projection, version, partition, count(*) AS delta FROM old_rows
      WHERE resolution IS NULL GROUP BY projection, version, partition
    ) AS d
    WHERE c.projection = d.projection AND c.version = d.version AND c.partition = d.partition;
  ELSE
    UPDATE refract.projection_checkpoints AS c SET parked_open = c.parked_open + d.delta
    FROM (
      SELECT n.projection, n.version, n.partition,
             sum((n.resolution IS NULL)::int - (o.resolution IS NULL)::int) AS delta
      FROM new_rows AS n JOIN old_rows AS o ON o.id = n.id
      GROUP BY n.projection, n.version, n.partition
    ) AS d
    WHERE d.delta <> 0
      AND c.projection = d.projection AND c.version = d.version AND c.partition = d.partition;
  END IF;
  RETURN NULL;
END;
$$;
INSERT INTO refract.parked_events
  (projection, version, partition, position, stream_id, event_type, error, attempts, parked_at,
   resolution, resolved_at, behind)
SELECT projection, version, partition, position, stream_id, event_type, error, attempts,
       parked_at, resolution, resolved_at, behind
FROM refract.parked_events_all WHERE id < 0;
DROP VIEW refract.parked_events_all;
UPDATE refract.parked_events SET held = '{}' WHERE cardinality(held) > 0;
ALTER TABLE refract.parked_events DROP COLUMN held;
ALTER TABLE refract.parked_events RESET (fillfactor);
CREATE INDEX parked_events_open_idx ON refract.parked_events (projection, version) WHERE resolution IS NULL;
ALTER TABLE refract.parked_events DROP CONSTRAINT parked_events_position_key;
ALTER TABLE refract.parked_events ADD CONSTRAINT parked_events_projection_version_position_key
  UNIQUE (projection, version, position);
UPDATE refract.projection_checkpoints AS c SET parked_open = coalesce(p.open, 0)
FROM refract.projection_checkpoints AS k
LEFT JOIN (
  SELECT projection, version, partition, count(*) AS open
  FROM refract.parked_events WHERE resolution IS NULL
  GROUP BY projection, version, partition
) AS p ON p.projection = k.projection AND p.version = k.version AND p.partition = k.partition
WHERE c.projection = k.projection AND c.version = k.version AND c.partition = k.partition;
