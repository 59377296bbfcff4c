import type pg from 'pg';
import { SQL } from './sql.js';

export interface RegisteredProjection {
  name: string;
  pool: string;
  liveVersion: number;
  paused: boolean;
}

interface RegistryRow {
  name: string;
  pool: string;
  live_version: number;
  paused: boolean;
}

const toRegistered = (row: RegistryRow | undefined): RegisteredProjection | null =>
  row
    ? { name: row.name, pool: row.pool, liveVersion: row.live_version, paused: row.paused }
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
 * at their next heartbeat (a batch in hand still commits). Returns null for
 * a projection that is not registered.
 */
export async function setProjectionPaused(
  pool: pg.Pool,
  name: string,
  paused: boolean,
): Promise<RegisteredProjection | null> {
  return toRegistered((await pool.query<RegistryRow>(SQL.setPaused, [name, paused])).rows[0]);
}
