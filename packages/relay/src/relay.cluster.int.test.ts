import { EventStore, migrate } from '@refract/event-store';
import { createLogger } from '@refract/observability';
import {
  createRedisClient,
  partitionStreamKey,
  type RedisClient,
  readPartitionStream,
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
import { Relay } from './relay.js';

const PARTITIONS = 16;
const PREFIX = 'refract-cluster:';
let db: TestDatabase;
let store: EventStore;
let cluster: RedisCluster;
let redis: RedisClient;
const { lines: warnings, stream } = collectLines();
const logger = createLogger({ service: 'relay-cluster-test', level: 'warn', destination: stream });

beforeAll(async () => {
  db = await createTestDatabase('relay_cluster');
  await migrate({ databaseUrl: db.url, partitions: PARTITIONS });
  store = await EventStore.open({ databaseUrl: db.url });
  cluster = await startRedisCluster({ masters: 3 });
  redis = createRedisClient(cluster.url, { failFast: false });
  expect(await waitUntilReady(redis, 10_000)).toBe(true);
});

afterAll(async () => {
  redis?.disconnect();
  await store?.close();
  await cluster?.stop();
  await db?.drop();
});

/** Each partition's events from the log, with the position its `prev` must name. */
async function expectedStreams(): Promise<{ position: number; prev: number }[][]> {
  const rows = await store.pool.query<{ partition: number; position: string; prev: string }>(
    `SELECT partition, position,
            coalesce(lag(position) OVER (PARTITION BY partition ORDER BY position), 0) AS prev
     FROM refract.events ORDER BY position`,
  );
  const streams = Array.from(
    { length: PARTITIONS },
    () => [] as { position: number; prev: number }[],
  );
  for (const row of rows.rows) {
    streams[row.partition]!.push({ position: Number(row.position), prev: Number(row.prev) });
  }
  return streams;
}

describe('the relay on a 3-master Redis Cluster', () => {
  it('publishes every event once with its prev link, partitions spread over every master, no command across slots', async () => {
    // The detector works: a command over two partitions is refused and counted.
    await expect(
      redis.call('MGET', partitionStreamKey(PREFIX, 0), partitionStreamKey(PREFIX, 1)),
    ).rejects.toThrow(/CROSSSLOT/);
    expect((await cluster.errorStats()).CROSSSLOT).toBe(1);
    await cluster.resetStats();

    for (let i = 0; i < 3000; i += 100) {
      await Promise.all(
        Array.from({ length: 100 }, (_, j) =>
          store.append(`order-${(i + j) % 300}`, [{ type: 'E', data: { n: i + j } }]),
        ),
      );
    }
    // Two crashes between XADD and the checkpoint: the cluster refuses the re-publication too.
    let crashes = 0;
    const relayRedis = createRedisClient(cluster.url, { name: 'relay-cluster' });
    const relay = new Relay({
      databaseUrl: db.url,
      redis: relayRedis,
      keyPrefix: PREFIX,
      batchSize: 500,
      logger,
      hooks: {
        beforeCheckpoint: () => {
          if (crashes < 2) {
            crashes += 1;
            throw new Error('simulated crash before the checkpoint write');
          }
        },
      },
    });
    relay.start();
    try {
      const want = await expectedStreams();
      await eventually(
        async () => {
          for (let p = 0; p < PARTITIONS; p++) {
            const entries = await readPartitionStream(redis, PREFIX, p, 0, 100_000);
            expect(entries.map((e) => ({ position: e.position, prev: e.prev }))).toEqual(want[p]);
            for (const e of entries) expect(e.event.partition).toBe(p);
          }
        },
        { timeoutMs: 30_000, intervalMs: 200 },
      );
      expect(want.flat()).toHaveLength(3000);
      expect(crashes).toBe(2);
      expect(relay.status().redisAvailable).toBe(true);
    } finally {
      await relay.close();
      relayRedis.disconnect();
    }

    // Each stream sits in the slot of its partition's hash tag, and the slots span every master.
    for (let p = 0; p < PARTITIONS; p++) {
      expect(await redis.call('CLUSTER', 'KEYSLOT', partitionStreamKey(PREFIX, p))).toBe(
        await redis.call('CLUSTER', 'KEYSLOT', String(p)),
      );
    }
    const perMaster = await cluster.keysPerMaster(`${PREFIX}events:*`);
    expect(perMaster.reduce((a, b) => a + b, 0)).toBe(PARTITIONS);
    for (const count of perMaster) expect(count).toBeGreaterThan(0);
    expect((await cluster.errorStats()).CROSSSLOT).toBeUndefined();
    expect(warnings.filter((line) => /CROSSSLOT|same slot/i.test(line))).toEqual([]);
  });
});
