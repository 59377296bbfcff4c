import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';

/** The server tests create their databases on. CI and the dev machines run one at 127.0.0.1:5432. */
export const TEST_DATABASE_URL =
  process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** How long `drop` waits for sessions still closing before it ends them. */
const SESSIONS_GRACE_MS = 2_000;

export interface TestDatabase {
  /** Connection string of the fresh database. */
  url: string;
  name: string;
  /** Drops the database, ending any session still connected to it. */
  drop(): Promise<void>;
}

/**
 * Creates an empty database with a unique name, so test files can run in
 * parallel without seeing each other's rows; on the server of `serverUrl`
 * (connected to as its database says).
 */
export async function createTestDatabase(
  label = 'test',
  serverUrl = TEST_DATABASE_URL,
): Promise<TestDatabase> {
  const name = `refract_${label.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${randomUUID().slice(0, 8)}`;
  await withAdmin(serverUrl, (client) => client.query(`CREATE DATABASE "${name}"`));
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: async () => {
      await withAdmin(serverUrl, async (client) => {
        // A pool's end() resolves before its sockets have closed; forcing the
        // drop then would send those sessions a termination that surfaces as
        // an uncaught error in the test. Give them a moment to leave first.
        const deadline = Date.now() + SESSIONS_GRACE_MS;
        while (Date.now() < deadline) {
          const { rows } = await client.query<{ n: number }>(
            'SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1',
            [name],
          );
          if (rows[0]!.n === 0) break;
          await sleep(20);
        }
        await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      });
    },
  };
}

async function withAdmin<T>(serverUrl: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
