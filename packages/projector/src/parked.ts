import { batchContext, type Projection, RefractError } from '@refract/core';
import { type EventStore, withTransaction } from '@refract/event-store';
import type pg from 'pg';
import { SQL } from './sql.js';

export interface ParkedEvent {
  id: number;
  projection: string;
  version: number;
  partition: number;
  position: number;
  streamId: string;
  eventType: string;
  error: string;
  attempts: number;
  parkedAt: Date;
  resolution: 'retried' | 'skipped' | null;
  resolvedAt: Date | null;
}

interface ParkedRow {
  id: string;
  projection: string;
  version: number;
  partition: number;
  position: number;
  stream_id: string;
  event_type: string;
  error: string;
  attempts: number;
  parked_at: Date;
  resolution: 'retried' | 'skipped' | null;
  resolved_at: Date | null;
}

const toParked = (row: ParkedRow): ParkedEvent => ({
  id: Number(row.id),
  projection: row.projection,
  version: row.version,
  partition: row.partition,
  position: row.position,
  streamId: row.stream_id,
  eventType: row.event_type,
  error: row.error,
  attempts: row.attempts,
  parkedAt: row.parked_at,
  resolution: row.resolution,
  resolvedAt: row.resolved_at,
});

/** The parked events of a projection, open ones first, newest first. */
export async function listParkedEvents(
  store: EventStore,
  projection: string,
  { includeResolved = false }: { includeResolved?: boolean } = {},
): Promise<ParkedEvent[]> {
  const rows = await store.pool.query<ParkedRow>(SQL.listParked, [projection, includeResolved]);
  return rows.rows.map(toParked);
}

/** Open (unresolved) parked events per projection; projections with none are absent. */
export async function countOpenParkedEvents(pool: pg.Pool): Promise<Map<string, number>> {
  const rows = await pool.query<{ projection: string; open: string }>(SQL.countOpenParked);
  return new Map(rows.rows.map((r) => [r.projection, Number(r.open)]));
}

export class ParkedEventNotFoundError extends RefractError {
  constructor(id: number) {
    super('parked_event_not_found', `no parked event ${id}`, { parkedEventId: id });
  }
}

export class ParkedEventResolvedError extends RefractError {
  constructor(id: number, resolution: string) {
    super('already_resolved', `parked event ${id} is already ${resolution}`, {
      parkedEventId: id,
      resolution,
    });
  }
}

/**
 * Applies a parked event now (after its handler was fixed), exactly once:
 * the application and the parked row's resolution commit together, and the
 * row is locked first, so two retries cannot both apply it.
 */
export async function retryParkedEvent(
  store: EventStore,
  projection: Projection,
  id: number,
): Promise<ParkedEvent> {
  return withTransaction(store.pool, async (client) => {
    const found = await client.query<ParkedRow>(SQL.lockParked, [id, projection.name]);
    const row = found.rows[0];
    if (!row) throw new ParkedEventNotFoundError(id);
    if (row.resolution) throw new ParkedEventResolvedError(id, row.resolution);
    const [event] = await store.readAll({ after: row.position - 1, upTo: row.position, limit: 1 });
    if (!event) throw new ParkedEventNotFoundError(id);
    await projection.applyBatch(
      [event],
      batchContext(client, projection, row.version, row.partition),
    );
    const resolved = await client.query<ParkedRow>(SQL.markParkedRetried, [id]);
    return toParked(resolved.rows[0]!);
  });
}

/** Gives a parked event up: the checkpoint is already past it, so nothing else changes. */
export async function skipParkedEvent(
  store: EventStore,
  projection: string,
  id: number,
): Promise<ParkedEvent> {
  const updated = await store.pool.query<ParkedRow>(SQL.markParkedSkipped, [id, projection]);
  if (updated.rows[0]) return toParked(updated.rows[0]);
  const existing = await store.pool.query<ParkedRow>(SQL.readParked, [id, projection]);
  if (!existing.rows[0]) throw new ParkedEventNotFoundError(id);
  throw new ParkedEventResolvedError(id, existing.rows[0].resolution!);
}
