import { partitionOf } from '@refract/core';

/** A pg Pool or client: only `query` is used (pg's types stay out of this package's declarations). */
interface Queryable {
  query(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
}

/**
 * A position drawn from the log's sequence and not used yet, as by an
 * append still in flight: every position drawn after it is higher.
 */
export async function reservePosition(db: Queryable): Promise<number> {
  const { rows } = await db.query("SELECT nextval('refract.events_position_seq') AS p");
  return Number((rows[0] as { p: string }).p);
}

/**
 * Commits an event at `position` behind the engine's back, as a transaction
 * holding it would appear had it committed after the checkpoints passed it:
 * what the completeness audit must report. Stream version 0 of a new
 * stream; returns its partition (the engine's partition function).
 */
export async function commitSkippedEvent(
  db: Queryable,
  event: { position: number; streamId: string; type: string; data?: unknown; partitions: number },
): Promise<number> {
  const partition = partitionOf(event.streamId, event.partitions);
  await db.query(
    `INSERT INTO refract.events (position, stream_id, version, partition, event_id, type, data, tx_id)
     VALUES ($1, $2, 0, $3, gen_random_uuid(), $4, $5, pg_current_xact_id())`,
    [event.position, event.streamId, partition, event.type, JSON.stringify(event.data ?? {})],
  );
  return partition;
}
