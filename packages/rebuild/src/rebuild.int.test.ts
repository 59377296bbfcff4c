import { EventStore, migrate } from '@refract/event-store';
import {
  customerStatsProjection,
  expectedReadModels,
  generateWorkload,
  orderProjections,
  type WorkloadEvent,
} from '@refract/example-orders';
import { createLogger } from '@refract/observability';
import { ProjectorWorker } from '@refract/projector';
import { Relay } from '@refract/relay';
import { createRedisClient } from '@refract/stream-bus';
import {
  createTestDatabase,
  createTestRedisNamespace,
  eventually,
  type TestDatabase,
  type TestRedisNamespace,
} from '@refract/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { dropVersion, rebuildProjection } from './rebuild.js';

const logger = createLogger({ service: 'rebuild-test', level: 'silent' });
let db: TestDatabase;
let ns: TestRedisNamespace;
let store: EventStore;
let relay: Relay;
let worker: ProjectorWorker;

beforeAll(async () => {
  db = await createTestDatabase('rebuild');
  ns = createTestRedisNamespace('rebuild');
  await migrate({ databaseUrl: db.url, partitions: 8 });
  store = await EventStore.open({ databaseUrl: db.url });
  relay = new Relay({
    databaseUrl: db.url,
    redis: createRedisClient(ns.url),
    keyPrefix: ns.prefix,
  });
  relay.start();
  worker = new ProjectorWorker({
    databaseUrl: db.url,
    redisUrl: ns.url,
    keyPrefix: ns.prefix,
    pool: 'orders',
    projections: [...orderProjections],
    heartbeatMs: 200,
    blockMs: 200,
    logger,
  });
  await worker.start();
});

afterAll(async () => {
  await worker?.close();
  await relay?.close();
  await store?.close();
  await ns?.cleanup();
  await db?.drop();
});

async function appendAll(events: WorkloadEvent[]): Promise<void> {
  const tails = new Map<string, Promise<unknown>>();
  const inFlight = new Set<Promise<unknown>>();
  for (const item of events) {
    const next = (tails.get(item.streamId) ?? Promise.resolve()).then(() =>
      store.append(item.streamId, [item.event], {
        expectedVersion: item.version === 0 ? 'no_stream' : item.version - 1,
      }),
    );
    tails.set(item.streamId, next);
    inFlight.add(next);
    void next.finally(() => inFlight.delete(next));
    if (inFlight.size >= 32) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
}

async function customerStats(table: string) {
  const rows = await store.pool.query<{
    customer_id: string;
    orders_placed: number;
    orders_shipped: number;
    orders_cancelled: number;
    lifetime_value_cents: string;
  }>(`SELECT * FROM ${table}`);
  return new Map(
    rows.rows.map((r) => [
      r.customer_id,
      [r.orders_placed, r.orders_shipped, r.orders_cancelled, Number(r.lifetime_value_cents)],
    ]),
  );
}

function expectedStats(events: WorkloadEvent[]) {
  return new Map(
    [...expectedReadModels(events).customers.values()].map((c) => [
      c.customerId,
      [c.ordersPlaced, c.ordersShipped, c.ordersCancelled, c.lifetimeValueCents],
    ]),
  );
}

async function caughtUp(version: number): Promise<boolean> {
  const head = await store.headPosition();
  const behind = await store.pool.query(
    `SELECT 1 FROM refract.projection_checkpoints
     WHERE projection = 'customer_stats' AND version = $1 AND position < $2 LIMIT 1`,
    [version, head],
  );
  return behind.rowCount === 0;
}

it('rebuilds customer_stats beside the live version while appends continue; reads never fail nor see a half-built table', async () => {
  const all = [...generateWorkload({ events: 16_000, seed: 11 })];
  await appendAll(all.slice(0, 12_000));
  await eventually(async () => expect(await caughtUp(1)).toBe(true), { timeoutMs: 60_000 });
  const before = (await customerStats('projections.customer_stats')).size;

  // Readers every few milliseconds during the whole rebuild.
  let reading = true;
  let reads = 0;
  const failures: unknown[] = [];
  let smallest = Number.POSITIVE_INFINITY;
  const reader = (async () => {
    while (reading) {
      try {
        const rows = await store.pool.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM projections.customer_stats',
        );
        smallest = Math.min(smallest, rows.rows[0]!.n);
        reads += 1;
      } catch (error) {
        failures.push(error);
      }
      await new Promise((resolve) => setTimeout(resolve, 3));
    }
  })();
  const appending = appendAll(all.slice(12_000));
  const progress: number[] = [];
  const result = await rebuildProjection({
    store,
    projection: customerStatsProjection,
    batchSize: 1000,
    logger,
    onProgress: (p) => progress.push(p.processed),
  });
  await appending;
  await eventually(async () => expect(await caughtUp(2)).toBe(true), { timeoutMs: 60_000 });
  reading = false;
  await reader;

  expect(result.version).toBe(2);
  expect(failures).toEqual([]);
  expect(reads).toBeGreaterThan(10);
  // Customers only ever appear: a count below the one before the rebuild would be a half-built table.
  expect(smallest).toBeGreaterThanOrEqual(before);
  expect(progress.at(-1)).toBeGreaterThan(0);
  const live = await store.pool.query<{ live_version: number }>(
    "SELECT live_version FROM refract.projections WHERE name = 'customer_stats'",
  );
  expect(live.rows[0]!.live_version).toBe(2);
  const want = expectedStats(all);
  expect(await customerStats('projections.customer_stats_v2')).toEqual(want);
  expect(await customerStats('projections.customer_stats')).toEqual(want);
  // v1 is kept until the next rebuild.
  expect((await customerStats('projections.customer_stats_v1')).size).toBeGreaterThan(0);
}, 180_000);

it('an aborted rebuild leaves the live version alone, and its tables can be dropped', async () => {
  const controller = new AbortController();
  controller.abort();
  await expect(
    rebuildProjection({
      store,
      projection: customerStatsProjection,
      logger,
      signal: controller.signal,
    }),
  ).rejects.toThrow();
  await dropVersion(store, customerStatsProjection, 3);
  const live = await store.pool.query<{ live_version: number }>(
    "SELECT live_version FROM refract.projections WHERE name = 'customer_stats'",
  );
  expect(live.rows[0]!.live_version).toBe(2);
  const tables = await store.pool.query(
    "SELECT 1 FROM pg_tables WHERE schemaname = 'projections' AND tablename LIKE 'customer_stats%_v3'",
  );
  expect(tables.rowCount).toBe(0);
  await expect(dropVersion(store, customerStatsProjection, 2)).rejects.toThrow(/is live/);
});
