-- Up Migration
-- The breaker's count of a projection version's open parked events, kept per
-- partition on its checkpoint row by a trigger, so that a batch that parks
-- reads a sum over the partitions instead of counting the parked rows: in a
-- poison flood they grow by thousands and were counted after every batch.
-- A trigger, so that every path that parks, retries, skips or deletes keeps
-- it; it updates the checkpoint row the batch, retry or skip already holds.
ALTER TABLE refract.projection_checkpoints ADD COLUMN parked_open bigint NOT NULL DEFAULT 0;

UPDATE refract.projection_checkpoints AS c SET parked_open = p.open
FROM (
  SELECT projection, version, partition, count(*) AS open
  FROM refract.parked_events WHERE resolution IS NULL
  GROUP BY projection, version, partition
) AS p
WHERE c.projection = p.projection AND c.version = p.version AND c.partition = p.partition;

CREATE FUNCTION refract.count_parked_open() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- Per statement, with its transition tables: one update per partition touched.
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

CREATE TRIGGER parked_open_insert AFTER INSERT ON refract.parked_events
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION refract.count_parked_open();
CREATE TRIGGER parked_open_update AFTER UPDATE ON refract.parked_events
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION refract.count_parked_open();
CREATE TRIGGER parked_open_delete AFTER DELETE ON refract.parked_events
  REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION refract.count_parked_open();

-- Down Migration
DROP TRIGGER parked_open_delete ON refract.parked_events;
DROP TRIGGER parked_open_update ON refract.parked_events;
DROP TRIGGER parked_open_insert ON refract.parked_events;
DROP FUNCTION refract.count_parked_open();
ALTER TABLE refract.projection_checkpoints DROP COLUMN parked_open;
