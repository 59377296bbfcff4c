import type { Projection } from '@refract/core';
import type { Logger } from '@refract/observability';
import type pg from 'pg';
import { SQL } from './sql.js';

/** Open parked events beyond which a projection trips, unless it says otherwise. */
export const DEFAULT_TRIP_AFTER_PARKED = 100;

/**
 * A projection's breaker threshold: its own `tripAfterParked`, else
 * `REFRACT_TRIP_AFTER_PARKED` (read here so that every process applying
 * batches, worker, catch-up or test kit, trips alike), else 100.
 */
export function tripThreshold(projection: Pick<Projection, 'tripAfterParked'>): number {
  if (projection.tripAfterParked !== undefined) return projection.tripAfterParked;
  const fromEnv = Number(process.env.REFRACT_TRIP_AFTER_PARKED);
  return Number.isInteger(fromEnv) && fromEnv >= 0 ? fromEnv : DEFAULT_TRIP_AFTER_PARKED;
}

/**
 * After a batch parked events: trips the projection (its workers then
 * leave it, as if paused) once its open parked events exceed the
 * threshold. Logged once, by whichever batch trips it.
 */
export async function tripIfOverThreshold(
  pool: pg.Pool,
  projection: Projection,
  version: number,
  log: Logger,
): Promise<boolean> {
  const threshold = tripThreshold(projection);
  const tripped = await pool.query<{ trip_reason: string }>(SQL.tripProjection, [
    projection.name,
    version,
    threshold,
  ]);
  if (tripped.rowCount === 0) return false;
  log.error(
    { version, threshold, reason: tripped.rows[0]!.trip_reason },
    'projection tripped: too many parked events; resume it once the handler is fixed',
  );
  return true;
}
