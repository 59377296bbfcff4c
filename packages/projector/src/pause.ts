import { type AnyProjection, isCounterProjection } from '@refract/core';
import type { EventStore } from '@refract/event-store';
import type pg from 'pg';
import { retryAllParked } from './parked.js';
import { SQL } from './sql.js';

export interface RegisteredProjection {
  name: string;
  pool: string;
  liveVersion: number;
  paused: boolean;
  /** Set when its breaker tripped (too many parked events), until it is resumed. */
  trippedAt: Date | null;
  tripReason: string | null;
}

interface RegistryRow {
  name: string;
  pool: string;
  live_version: number;
  paused: boolean;
  tripped_at: Date | null;
  trip_reason: string | null;
}

const toRegistered = (row: RegistryRow | undefined): RegisteredProjection | null =>
  row
    ? {
        name: row.name,
        pool: row.pool,
        liveVersion: row.live_version,
        paused: row.paused,
        trippedAt: row.tripped_at,
        tripReason: row.trip_reason,
      }
    : null;

/** A projection's registry row, or null when it is not registered. */
export async function readRegisteredProjection(
  pool: pg.Pool,
  name: string,
): Promise<RegisteredProjection | null> {
  return toRegistered((await pool.query<RegistryRow>(SQL.readProjection, [name])).rows[0]);
}

/**
 * Pauses or resumes a projection in the registry; its workers stop or go on
 * at their next heartbeat (a batch in hand still commits). Resuming clears a
 * trip too (see `resumeProjection`, which first retries what is parked).
 * Returns null for a projection that is not registered.
 */
export async function setProjectionPaused(
  pool: pg.Pool,
  name: string,
  paused: boolean,
): Promise<RegisteredProjection | null> {
  return toRegistered((await pool.query<RegistryRow>(SQL.setPaused, [name, paused])).rows[0]);
}

/**
 * Resumes a projection, paused or tripped: first every quarantined stream
 * of a table projection is replayed in order (`retryAllParked`; a stream
 * whose head still fails stays quarantined and is reported), then the
 * registry row is cleared, so the workers go on with the streams released.
 * Returns null for a projection that is not registered.
 */
export async function resumeProjection(
  store: EventStore,
  projection: AnyProjection,
): Promise<{
  registered: RegisteredProjection;
  retried: Awaited<ReturnType<typeof retryAllParked>> | null;
} | null> {
  if (!(await readRegisteredProjection(store.pool, projection.name))) return null;
  const retried = isCounterProjection(projection) ? null : await retryAllParked(store, projection);
  const registered = await setProjectionPaused(store.pool, projection.name, false);
  return registered && { registered, retried };
}

/** Tripped projections by name: when their breaker tripped and why. */
export async function readTrips(pool: pg.Pool): Promise<Map<string, { at: Date; reason: string }>> {
  const rows = await pool.query<{ name: string; tripped_at: Date; trip_reason: string }>(
    SQL.readTrips,
  );
  return new Map(rows.rows.map((r) => [r.name, { at: r.tripped_at, reason: r.trip_reason }]));
}
