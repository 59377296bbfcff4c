import { randomUUID } from 'node:crypto';
import { createPool, migrate, readPartitionCount } from '@refract/event-store';
import type { RedisClient } from '@refract/stream-bus';
import { createRedisClient, deleteKeysWithPrefix, parseRedisUrl } from '@refract/stream-bus';
import pg from 'pg';
import { say } from './progress.js';

export interface StackOptions {
  /** Postgres URL the run's database is created and dropped on. */
  adminUrl: string;
  redisUrl: string;
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/** Load goes to this machine only. */
function assertLoopback(url: string, what: string): void {
  const target = url.startsWith('redis') ? parseRedisUrl(url) : undefined;
  // A cluster URL lists several nodes; every one must be local.
  const hosts = target?.cluster ? target.nodes.map((n) => n.host) : [new URL(url).hostname];
  for (const host of hosts) {
    if (!LOOPBACK.has(host) && !host.startsWith('127.')) {
      throw new Error(`${what} must point at this machine (loopback), not ${host}`);
    }
  }
}

/**
 * Everything one run creates and must remove again: a fresh, migrated
 * database, Redis key prefixes, child processes and other resources
 * registered with `defer`. `close()` undoes it all, also after an error or a
 * signal.
 */
export class BenchStack {
  private readonly prefixes = new Set<string>();
  private readonly deferred: { name: string; fn: () => Promise<void> }[] = [];
  private closing: Promise<void> | undefined;

  private constructor(
    readonly runId: string,
    private readonly adminUrl: string,
    readonly databaseName: string,
    readonly databaseUrl: string,
    readonly redisUrl: string,
    /** A pool on the run's database for set-up, checks and the raw baselines' reads. */
    readonly db: pg.Pool,
    /** A connection for set-up, checks and clean-up (the baselines open their own). */
    readonly redis: RedisClient,
    readonly partitions: number,
  ) {}

  static async start(options: StackOptions): Promise<BenchStack> {
    assertLoopback(options.adminUrl, 'BENCH_DATABASE_URL');
    assertLoopback(options.redisUrl, 'BENCH_REDIS_URL');
    const runId = randomUUID().slice(0, 8);
    const databaseName = `refract_bench_${runId}`;
    await withAdmin(options.adminUrl, (client) =>
      client.query(`CREATE DATABASE "${databaseName}"`),
    );
    const url = new URL(options.adminUrl);
    url.pathname = `/${databaseName}`;
    const databaseUrl = url.toString();
    let db: pg.Pool | undefined;
    try {
      await migrate({ databaseUrl });
      db = createPool({ connectionString: databaseUrl, max: 4, applicationName: 'refract-bench' });
      const partitions = await readPartitionCount(db);
      const redis = createRedisClient(options.redisUrl, { name: 'refract-bench', failFast: false });
      await redis.ping();
      say(`database ${databaseName} created and migrated (${partitions} partitions)`);
      return new BenchStack(
        runId,
        options.adminUrl,
        databaseName,
        databaseUrl,
        options.redisUrl,
        db,
        redis,
        partitions,
      );
    } catch (error) {
      await db?.end().catch(() => {});
      await dropDatabase(options.adminUrl, databaseName).catch(() => {});
      throw error;
    }
  }

  /** A Redis key prefix of this run; its keys are deleted at close (or earlier with dropKeys). */
  keyPrefix(label: string): string {
    const prefix = `refract-bench-${this.runId}-${label}:`;
    this.prefixes.add(prefix);
    return prefix;
  }

  /** Deletes the keys under a prefix now, to free Redis memory between phases. */
  async dropKeys(prefix: string): Promise<void> {
    await deleteKeysWithPrefix(this.redis, prefix);
  }

  /**
   * Registers a clean-up (stop a process, close a pool) to run at close, last
   * registered first. The returned function runs it now, once.
   */
  defer(name: string, fn: () => Promise<void>): () => Promise<void> {
    let ran: Promise<void> | undefined;
    const once = () => {
      ran ??= fn();
      return ran;
    };
    this.deferred.push({ name, fn: once });
    return once;
  }

  /** Runs every clean-up, keeps going past failures, drops the database. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const attempt = async (what: string, fn: () => Promise<unknown>) => {
        try {
          await fn();
        } catch (error) {
          say(`clean-up: ${what} failed: ${(error as Error).message}`);
        }
      };
      for (const { name, fn } of this.deferred.reverse()) await attempt(name, fn);
      for (const prefix of this.prefixes) {
        await attempt(`deleting keys ${prefix}*`, () => this.dropKeys(prefix));
      }
      this.redis.disconnect();
      await attempt('closing the pool', () => this.db.end());
      await attempt(`dropping ${this.databaseName}`, () =>
        dropDatabase(this.adminUrl, this.databaseName),
      );
      say(`clean-up done: database ${this.databaseName} dropped, bench keys deleted`);
    })();
    return this.closing;
  }
}

async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  await withAdmin(adminUrl, (client) =>
    client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
  );
}

async function withAdmin<T>(adminUrl: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl, application_name: 'refract-bench' });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
