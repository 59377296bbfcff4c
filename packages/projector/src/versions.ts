import { type Projection, versionedTable } from '@refract/core';
import type pg from 'pg';
import { PROJECTIONS_CHANNEL, SQL } from './sql.js';

// The version and checkpoint rows of refract.projections and
// refract.projection_checkpoints, for what changes versions beside the
// workers (rebuilds): this package owns those tables.

type Db = pg.Pool | pg.ClientBase;

/** Points the query views (`projections.<table>`) at `version`'s tables. */
export async function pointViews(
  client: pg.ClientBase,
  projection: Projection,
  version: number,
): Promise<void> {
  for (const table of projection.tables) {
    await client.query(
      `CREATE OR REPLACE VIEW projections.${table} AS SELECT * FROM ${versionedTable(table, version)}`,
    );
  }
}

/**
 * Locks a projection's registry row until the transaction ends, so version
 * changes of one projection take turns. Returns its live version, undefined
 * when it is not registered.
 */
export async function lockProjection(
  client: pg.ClientBase,
  name: string,
): Promise<number | undefined> {
  const rows = await client.query<{ live_version: number }>(SQL.lockProjection, [name]);
  return rows.rows[0]?.live_version;
}

/**
 * Makes `version` live and tells the workers (they switch at once instead of
 * at their next heartbeat). In the caller's transaction, with the views
 * already pointed (pointViews): all of it commits together.
 */
export async function setLiveVersion(
  client: pg.ClientBase,
  name: string,
  version: number,
): Promise<void> {
  await client.query(SQL.setLiveVersion, [name, version]);
  await client.query('SELECT pg_notify($1, $2)', [PROJECTIONS_CHANNEL, name]);
}

/**
 * Locks every partition's checkpoint of a version until the transaction
 * ends: workers' batches on it wait, so the positions returned are final.
 */
export async function lockVersionCheckpoints(
  client: pg.ClientBase,
  name: string,
  version: number,
): Promise<{ partition: number; position: number }[]> {
  const rows = await client.query<{ partition: number; position: number }>(
    SQL.lockVersionCheckpoints,
    [name, version],
  );
  return rows.rows;
}

/** Where some partitions of a version stand; a partition without a checkpoint is absent. */
export async function readVersionCheckpoints(
  db: Db,
  name: string,
  version: number,
  partitions: readonly number[],
): Promise<{ partition: number; position: number; halted: boolean; quarantined: boolean }[]> {
  const rows = await db.query<{
    partition: number;
    position: number;
    halted: boolean;
    quarantined: boolean;
  }>(SQL.readVersionCheckpoints, [name, version, partitions]);
  return rows.rows;
}

/** Every version of a projection that has checkpoints: live, being built or retired. */
export async function listCheckpointVersions(db: Db, name: string): Promise<number[]> {
  const rows = await db.query<{ version: number }>(SQL.listVersions, [name]);
  return rows.rows.map((r) => r.version);
}

/** Forgets a dropped version's checkpoints. */
export async function dropVersionCheckpoints(
  client: pg.ClientBase,
  name: string,
  version: number,
): Promise<void> {
  await client.query(SQL.dropVersionCheckpoints, [name, version]);
}
