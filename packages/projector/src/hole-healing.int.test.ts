import { defineProjection } from '@refract/core';
import { EventStore, migrate } from '@refract/event-store';
import { createLogger } from '@refract/observability';
import { Relay, readPublishedPosition } from '@refract/relay';
import { createRedisClient, partitionStreamKey, type RedisClient } from '@refract/stream-bus';
import {
  createTestDatabase,
  createTestRedisNamespace,
  eventually,
  type TestDatabase,
  type TestRedisNamespace,
} from '@refract/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ProjectorWorker } from './worker.js';

// Invariant 9, Redis is a cache of the log: entries Redis lost from the middle
// of a partition stream are a hole the worker sees through the next entry's
// `prev` and reads from Postgres, rather than skipping past.

/** One partition: every event is in the one stream the hole is cut into. */
const PARTITIONS = 1;
const logger = createLogger({ service: 'hole-healing-test', level: 'silent' });
let db: TestDatabase;
let ns: TestRedisNamespace;
let store: EventStore;
let redis: RedisClient;
let relay: Relay;

/** Counts events per stream: a skipped event shows as a count below the log's. */
const tally = defineProjection({
  name: 'hole_tally',
  version: 1,
  pool: 'test',
  handles: ['Counted'],
  tables: ['hole_tally'],
  setup: (table) =>
    `CREATE TABLE IF NOT EXISTS ${table('hole_tally')} (stream_id text PRIMARY KEY, count int NOT NULL)`,
  applyBatch: async (events, ctx) => {
    for (const event of events) {
      await ctx.sql.query(
        `INSERT INTO ${ctx.table('hole_tally')} AS t VALUES ($1, 1)
         ON CONFLICT (stream_id) DO UPDATE SET count = t.count + 1`,
        [event.streamId],
      );
    }
  },
});

function worker() {
  return new ProjectorWorker({
    databaseUrl: db.url,
    redisUrl: ns.url,
    keyPrefix: ns.prefix,
    pool: 'test',
    projections: [tally],
    heartbeatMs: 200,
    blockMs: 200,
    batchSize: 1000,
    logger,
  });
}

async function appendCounted(count: number, offset: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    await store.append(`s-${(offset + i) % 10}`, [{ type: 'Counted', data: {} }]);
  }
}

async function checkpoint(): Promise<number> {
  const rows = await store.pool.query<{ position: string }>(
    `SELECT position FROM refract.projection_checkpoints WHERE projection = 'hole_tally'`,
  );
  return Number(rows.rows[0]?.position ?? 0);
}

async function counts(): Promise<Record<string, number>> {
  const rows = await store.pool.query<{ stream_id: string; count: number }>(
    'SELECT stream_id, count FROM projections.hole_tally ORDER BY stream_id',
  );
  return Object.fromEntries(rows.rows.map((r) => [r.stream_id, r.count]));
}

async function foldOfLog(): Promise<Record<string, number>> {
  const rows = await store.pool.query<{ stream_id: string; n: number }>(
    `SELECT stream_id, count(*)::int AS n FROM refract.events WHERE type = 'Counted'
     GROUP BY stream_id ORDER BY stream_id`,
  );
  return Object.fromEntries(rows.rows.map((r) => [r.stream_id, r.n]));
}

beforeAll(async () => {
  db = await createTestDatabase('hole_healing');
  ns = createTestRedisNamespace('hole_healing');
  await migrate({ databaseUrl: db.url, partitions: PARTITIONS });
  store = await EventStore.open({ databaseUrl: db.url });
  redis = createRedisClient(ns.url);
  relay = new Relay({
    databaseUrl: db.url,
    redis: createRedisClient(ns.url),
    keyPrefix: ns.prefix,
  });
  relay.start();
});

afterAll(async () => {
  await relay?.close();
  redis?.disconnect();
  await store?.close();
  await ns?.cleanup();
  await db?.drop();
});

it('hole healing: entries lost from the middle of a partition stream are read from Postgres, none skipped', async () => {
  await appendCounted(50, 0);
  const first = worker();
  await first.start();
  const head = await store.headPosition();
  await eventually(async () => expect(await checkpoint()).toBe(head));
  await first.close();

  // Appended and published while no worker runs, then the first half of them
  // lost from Redis: the stream goes on from the checkpoint with a gap.
  await appendCounted(40, 50);
  const end = await store.headPosition();
  await eventually(async () =>
    expect(await readPublishedPosition(store.pool)).toBeGreaterThanOrEqual(end),
  );
  const key = partitionStreamKey(ns.prefix, 0);
  const after = (await redis.xrange(key, `(${head}-0`, '+')).map(([id]) => id);
  expect(after).toHaveLength(40);
  expect(await redis.xdel(key, ...after.slice(0, 20))).toBe(20);

  // The worker finds entries past its checkpoint in Redis first; the first
  // one's `prev` is past that checkpoint.
  const second = worker();
  await second.start();
  try {
    await eventually(async () => expect(await checkpoint()).toBe(end));
    expect(await counts()).toEqual(await foldOfLog());
  } finally {
    await second.close();
  }
});
