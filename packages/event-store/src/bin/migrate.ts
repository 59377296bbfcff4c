/**
 * `pnpm migrate`: applies the event store's migrations to DATABASE_URL.
 * REFRACT_PARTITIONS sets the partition count on first install.
 */
import { migrate } from '../migrate.js';

const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) {
  console.error('DATABASE_URL is not set: it names the Postgres database to migrate');
  process.exit(2);
}
const partitions = process.env.REFRACT_PARTITIONS
  ? Number(process.env.REFRACT_PARTITIONS)
  : undefined;
try {
  const result = await migrate({ databaseUrl, partitions, log: (line) => console.log(line) });
  console.log(
    result.applied.length === 0
      ? `schema up to date (${result.partitions} partitions)`
      : `applied ${result.applied.join(', ')} (${result.partitions} partitions)`,
  );
} catch (error) {
  console.error(`migrate failed: ${(error as Error).message}`);
  process.exit(1);
}
