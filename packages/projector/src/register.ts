import { type CounterProjection, type Projection, versionedTable } from '@refract/core';
import { withTransaction } from '@refract/event-store';
import type pg from 'pg';
import { SQL } from './sql.js';
import { pointViews } from './versions.js';

/**
 * Makes a projection known to the database: its tables for `version` (the
 * projection's own version unless a rebuild asks for another), its registry
 * row, one checkpoint row per partition at 0, and the query views on the live
 * version. Idempotent; serialised per projection by an advisory lock so
 * workers starting together do not race on DDL.
 */
export async function registerProjection(
  pool: pg.Pool,
  projection: Projection,
  partitions: number,
  version: number = projection.version,
): Promise<{ liveVersion: number }> {
  if (!projection.pool) {
    throw new Error(
      `projection ${projection.name} has no pool: register the one defineApp returns (app.projection(name))`,
    );
  }
  return withTransaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [
      `refract.projection:${projection.name}`,
    ]);
    await client.query(projection.setup((table) => versionedTable(table, version)));
    const registered = await client.query<{ live_version: number }>(SQL.upsertProjection, [
      projection.name,
      projection.pool,
      version,
    ]);
    await client.query(SQL.seedCheckpoints, [projection.name, version, partitions]);
    const liveVersion = registered.rows[0]!.live_version;
    if (liveVersion === version) await pointViews(client, projection, liveVersion);
    return { liveVersion };
  });
}

/** A counter projection keeps its state in Redis; Postgres only lists it, for pause and status. */
export async function registerCounterProjection(
  pool: pg.Pool,
  projection: CounterProjection,
): Promise<{ liveVersion: number }> {
  const registered = await pool.query<{ live_version: number }>(SQL.upsertProjection, [
    projection.name,
    projection.pool,
    projection.version,
  ]);
  return { liveVersion: registered.rows[0]!.live_version };
}
