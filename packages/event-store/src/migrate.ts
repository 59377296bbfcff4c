import { fileURLToPath } from 'node:url';
import { runner } from 'node-pg-migrate';
import pg from 'pg';
import { DEFAULT_PARTITIONS } from './settings.js';
import { SQL } from './sql.js';

export interface MigrateOptions {
  databaseUrl: string;
  /** The partition count, fixed by the first migrate. @defaultValue 32 */
  partitions?: number;
  log?: (message: string) => void;
}

export interface MigrateResult {
  applied: string[];
  partitions: number;
}

/** Any constant works; it only has to be the same for every Refract process. */
const MIGRATE_LOCK_KEY = 0x52_45_46_52; // "REFR"

const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations', import.meta.url));

/**
 * Brings the schema up to date. Safe to run from several processes at once:
 * they queue on an advisory lock (node-pg-migrate's own lock would make the
 * losers fail instead of wait), and the first one does the work.
 */
export async function migrate(options: MigrateOptions): Promise<MigrateResult> {
  const partitions = options.partitions ?? DEFAULT_PARTITIONS;
  if (!Number.isInteger(partitions) || partitions < 1 || partitions > 4096) {
    throw new RangeError(`partitions must be an integer from 1 to 4096, got ${partitions}`);
  }
  const client = new pg.Client({
    connectionString: options.databaseUrl,
    application_name: 'refract-migrate',
  });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATE_LOCK_KEY]);
    const applied = await runner({
      dbClient: client,
      dir: MIGRATIONS_DIR,
      direction: 'up',
      migrationsTable: 'migrations',
      migrationsSchema: 'refract',
      createMigrationsSchema: true,
      noLock: true,
      checkOrder: true,
      log: options.log ?? (() => {}),
    });
    await client.query(SQL.seedPartitions, [JSON.stringify(partitions)]);
    const stored = await client.query<{ value: number }>(SQL.readPartitions);
    const installed = stored.rows[0]!.value;
    if (installed !== partitions && options.partitions !== undefined) {
      throw new Error(
        `this database was installed with ${installed} partitions; it cannot change to ${partitions}`,
      );
    }
    return { applied: applied.map((migration) => migration.name), partitions: installed };
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATE_LOCK_KEY]).catch(() => {});
    await client.end();
  }
}
