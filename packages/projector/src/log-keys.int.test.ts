import { type AnyProjection, defineProjection, type Projection } from '@refract/core';
import { EventStore, migrate } from '@refract/event-store';
import { createLogger } from '@refract/observability';
import { Relay } from '@refract/relay';
import { createRedisClient } from '@refract/stream-bus';
import {
  collectLines,
  createTestDatabase,
  createTestRedisNamespace,
  eventually,
  repeatedKeys,
  type TestDatabase,
  type TestRedisNamespace,
} from '@refract/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catchUp } from './catch-up.js';
import { registerProjection } from './register.js';
import { ProjectorWorker } from './worker.js';

/**
 * Log lines whose bindings repeat a key (`"projection":"x","projection":"x"`)
 * parse fine and lose nothing visible to JSON.parse, but break log pipelines
 * that index fields. The lines are read raw, as a pipeline would.
 */
const PARTITIONS = 8;
let db: TestDatabase;
let redis: TestRedisNamespace;
let store: EventStore;
let relay: Relay;
const { lines, stream } = collectLines();
const logger = createLogger({
  service: 'log-keys-test',
  level: 'debug',
  destination: stream,
});

/** Throws on its `fail` events: each one is parked, and logged on the way. */
function failing(name: string): Projection {
  return defineProjection({
    name,
    version: 1,
    pool: 'keys',
    handles: ['Counted'],
    tables: [name],
    setup: (table) =>
      `CREATE TABLE IF NOT EXISTS ${table(name)} (stream_id text PRIMARY KEY, n int NOT NULL)`,
    async applyBatch(events, ctx) {
      for (const event of events) {
        if ((event.data as { fail?: boolean }).fail) throw new Error(`poison ${event.position}`);
        await ctx.sql.query(
          `INSERT INTO ${ctx.table(name)} AS t VALUES ($1, 1)
           ON CONFLICT (stream_id) DO UPDATE SET n = t.n + 1`,
          [event.streamId],
        );
      }
    },
    retryBackoffMs: 1,
    maxAttempts: 2,
  });
}

function worker(projections: AnyProjection[]) {
  return new ProjectorWorker({
    databaseUrl: db.url,
    redisUrl: redis.url,
    keyPrefix: redis.prefix,
    pool: 'keys',
    projections,
    heartbeatMs: 200,
    leaseTtlMs: 1500,
    blockMs: 200,
    batchSize: 50,
    logger,
  });
}

function offending(): { line: string; keys: string[] }[] {
  return lines
    .map((line) => ({ line, keys: repeatedKeys(line) }))
    .filter((found) => found.keys.length > 0);
}

const records = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);
const PARKED = 'poison events parked; their streams are quarantined';
/** Events parked by `projection`, summed over its parking lines (one per batch that parked). */
const parkedIn = (projection: string) =>
  records()
    .filter((r) => r.msg === PARKED && r.projection === projection)
    .reduce((sum, r) => sum + (r.parked as number), 0);

beforeAll(async () => {
  db = await createTestDatabase('log_keys');
  redis = createTestRedisNamespace('log-keys');
  await migrate({ databaseUrl: db.url, partitions: PARTITIONS });
  store = await EventStore.open({ databaseUrl: db.url });
  relay = new Relay({
    databaseUrl: db.url,
    redis: createRedisClient(redis.url),
    keyPrefix: redis.prefix,
    logger,
  });
  relay.start();
});

afterAll(async () => {
  await relay?.close();
  await store?.close();
  await redis?.cleanup();
  await db?.drop();
});

async function appendWithPoison(prefix: string): Promise<void> {
  for (let i = 0; i < 40; i++) {
    await store.append(`${prefix}-${i % 10}`, [{ type: 'Counted', data: { fail: i % 13 === 5 } }]);
  }
}

describe('log lines', () => {
  it('of a worker pool (start, leases, handover, parking) repeat no key', async () => {
    await appendWithPoison('pool');
    const first = worker([failing('keys_pool')]);
    const second = worker([failing('keys_pool')]);
    await first.start();
    try {
      // Parked events are the lines with the most bindings: worker, pool, projection, partition.
      // 3 poison events (i = 5, 18, 31) and the 5 later events of their streams parked behind them.
      await eventually(() => expect(parkedIn('keys_pool')).toBe(8), { timeoutMs: 30_000 });
      await second.start();
      await eventually(() =>
        expect(records().some((r) => r.msg === 'partition handed over')).toBe(true),
      );
    } finally {
      await second.close();
      await first.close();
    }
    const parked = records().find((r) => r.msg === PARKED)!;
    expect(parked).toMatchObject({ projection: 'keys_pool', pool: 'keys' });
    expect(parked.partition).toEqual(expect.any(Number));
    expect(offending()).toEqual([]);
  });

  it('of a catch-up that parks repeat no key', async () => {
    lines.length = 0;
    await appendWithPoison('catch-up');
    const projection = failing('keys_catch_up');
    await registerProjection(store.pool, projection, PARTITIONS);
    const result = await catchUp({
      store,
      projections: [{ projection, version: 1 }],
      upTo: await store.headPosition(),
      log: logger.child({ tool: 'catch-up' }),
    });
    expect(result.parked).toBeGreaterThan(0);
    expect(parkedIn('keys_catch_up')).toBe(result.parked);
    expect(offending()).toEqual([]);
  });
});
