import { defineCounterProjection, defineProjection } from '@refract/core';
import { EventStore, migrate } from '@refract/event-store';
import { createLogger } from '@refract/observability';
import { Relay } from '@refract/relay';
import {
  createRedisClient,
  partitionLeaseKey,
  type RedisClient,
  readCounters,
  waitUntilReady,
} from '@refract/stream-bus';
import {
  collectLines,
  createTestDatabase,
  eventually,
  type RedisCluster,
  startRedisCluster,
  type TestDatabase,
} from '@refract/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProjectorWorker } from './worker.js';

const PARTITIONS = 16;
const PREFIX = 'refract-cluster:';
const POOL = 'cluster';
let db: TestDatabase;
let store: EventStore;
let cluster: RedisCluster;
let redis: RedisClient;
let relayRedis: RedisClient;
let relay: Relay;
const { lines: warnings, stream } = collectLines();
const logger = createLogger({
  service: 'projector-cluster-test',
  level: 'warn',
  destination: stream,
});

/** Events seen per stream, by increment: an event applied twice shows as a wrong count. */
const perStream = defineProjection({
  name: 'per_stream',
  version: 1,
  pool: POOL,
  handles: ['Counted'],
  tables: ['per_stream'],
  setup: (table) =>
    `CREATE TABLE IF NOT EXISTS ${table('per_stream')} (stream_id text PRIMARY KEY, n int NOT NULL)`,
  async applyBatch(events, ctx) {
    for (const event of events) {
      await ctx.sql.query(
        `INSERT INTO ${ctx.table('per_stream')} AS t VALUES ($1, 1)
         ON CONFLICT (stream_id) DO UPDATE SET n = t.n + 1`,
        [event.streamId],
      );
    }
  },
});

/** The same count kept in Redis by the counter Lua script, one hash per partition. */
const counted = defineCounterProjection({
  name: 'counted',
  version: 1,
  pool: POOL,
  handles: ['Counted'],
  increments: (events) => ({ counted: events.length }),
});

function startWorker(): ProjectorWorker {
  return new ProjectorWorker({
    databaseUrl: db.url,
    redisUrl: cluster.url,
    keyPrefix: PREFIX,
    pool: POOL,
    projections: [perStream, counted],
    heartbeatMs: 200,
    leaseTtlMs: 1500,
    blockMs: 200,
    batchSize: 200,
    logger,
  });
}

async function append(count: number, from: number) {
  for (let i = 0; i < count; i += 100) {
    await Promise.all(
      Array.from({ length: Math.min(100, count - i) }, (_, j) =>
        store.append(`s-${(from + i + j) % 200}`, [{ type: 'Counted', data: {} }]),
      ),
    );
  }
}

/** Both read models equal the log: every event applied exactly once. */
async function expectCaughtUp() {
  await eventually(
    async () => {
      const log = await store.pool.query<{ stream_id: string; n: string }>(
        'SELECT stream_id, count(*) AS n FROM refract.events GROUP BY stream_id ORDER BY stream_id',
      );
      const model = await store.pool.query<{ stream_id: string; n: number }>(
        'SELECT stream_id, n FROM projections.per_stream ORDER BY stream_id',
      );
      expect(model.rows.map((r) => [r.stream_id, r.n])).toEqual(
        log.rows.map((r) => [r.stream_id, Number(r.n)]),
      );
      const total = log.rows.reduce((sum, r) => sum + Number(r.n), 0);
      expect((await readCounters(redis, PREFIX, 'counted', 1, PARTITIONS)).counted).toBe(total);
    },
    { timeoutMs: 30_000, intervalMs: 200 },
  );
}

beforeAll(async () => {
  db = await createTestDatabase('projector_cluster');
  await migrate({ databaseUrl: db.url, partitions: PARTITIONS });
  store = await EventStore.open({ databaseUrl: db.url });
  cluster = await startRedisCluster({ masters: 3 });
  redis = createRedisClient(cluster.url, { failFast: false });
  expect(await waitUntilReady(redis, 10_000)).toBe(true);
  relayRedis = createRedisClient(cluster.url, { name: 'relay-cluster' });
  relay = new Relay({ databaseUrl: db.url, redis: relayRedis, keyPrefix: PREFIX, logger });
  relay.start();
});

afterAll(async () => {
  await relay?.close();
  relayRedis?.disconnect();
  redis?.disconnect();
  await store?.close();
  await cluster?.stop();
  await db?.drop();
});

describe('a worker pool on a 3-master Redis Cluster', () => {
  it('catches up, tails, shares the partitions by leases, survives a flush of every master, exactly once', async () => {
    await append(1500, 0);
    const a = startWorker();
    const b = startWorker();
    await a.start();
    await b.start();
    try {
      await eventually(
        async () => {
          const [mine, theirs] = [a.status().partitions, b.status().partitions];
          expect(mine.length).toBeGreaterThan(0);
          expect(theirs.length).toBeGreaterThan(0);
          expect([...mine, ...theirs].sort((x, y) => x - y)).toEqual([...Array(PARTITIONS).keys()]);
          // Each partition's lease, in its partition's slot, names the worker running it.
          for (const p of mine)
            expect(await redis.get(partitionLeaseKey(PREFIX, POOL, p))).toBe(a.id);
          for (const p of theirs) {
            expect(await redis.get(partitionLeaseKey(PREFIX, POOL, p))).toBe(b.id);
          }
        },
        { timeoutMs: 15_000 },
      );
      await expectCaughtUp();

      await append(500, 1500);
      await expectCaughtUp();

      // Partition keys of every kind lie on every master.
      for (const kind of ['events', 'lease', 'counter']) {
        const perMaster = await cluster.keysPerMaster(`${PREFIX}${kind}:*`);
        for (const count of perMaster) expect(count, `${kind} keys per master`).toBeGreaterThan(0);
      }

      await b.close();
      await eventually(() => expect(a.status().partitions).toHaveLength(PARTITIONS), {
        timeoutMs: 5000,
      });
      // Redis is a cache of the log: losing every master heals from Postgres.
      await cluster.flushAll();
      await append(300, 2000);
      await expectCaughtUp();
    } finally {
      await a.close();
      await b.close();
    }
    expect((await cluster.errorStats()).CROSSSLOT).toBeUndefined();
    expect(warnings.filter((line) => /CROSSSLOT|same slot/i.test(line))).toEqual([]);
  });
});
