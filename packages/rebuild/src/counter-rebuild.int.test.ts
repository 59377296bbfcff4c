import { type CounterProjection, defineCounterProjection } from '@refract/core';
import type { EventStore } from '@refract/event-store';
import { generateWorkload } from '@refract/example-orders';
import { createLogger } from '@refract/observability';
import {
  counterCheckpoint,
  counterVersions,
  createRedisClient,
  freezeCounters,
  type RedisClient,
  readCounters,
} from '@refract/stream-bus';
import { eventually } from '@refract/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { rebuildAnyProjection } from './any-projection.js';
import {
  appendWorkload,
  liveVersionOf,
  monotonicPoll,
  startOrdersStack,
} from './testing/orders-harness.js';

/** Counts orders by outcome; item events are not handled (the replay reads handled types only). */
const orderCounts: CounterProjection = defineCounterProjection({
  name: 'order_counts',
  version: 1,
  pool: 'orders',
  handles: ['OrderPlaced', 'OrderShipped', 'OrderCancelled'],
  increments(events) {
    const totals: Record<string, number> = { events: events.length };
    for (const event of events) totals[event.type] = (totals[event.type] ?? 0) + 1;
    return totals;
  },
});

const PARTITIONS = 8;
const logger = createLogger({ service: 'counter-rebuild-test', level: 'silent' });
let stack: Awaited<ReturnType<typeof startOrdersStack>>;
let store: EventStore;
let redis: RedisClient;
let prefix: string;

beforeAll(async () => {
  stack = await startOrdersStack('counter-rebuild', { extra: [orderCounts] });
  store = stack.store;
  prefix = stack.ns.prefix;
  redis = createRedisClient(stack.ns.url);
});

afterAll(async () => {
  redis?.disconnect();
  await stack?.close();
});

/** The fold of every handled event in the log, as the counters should hold it. */
async function expectedCounts(): Promise<Record<string, number>> {
  const totals: Record<string, number> = {};
  for (let after = 0; ; ) {
    const page = await store.readAll({ after, types: [...orderCounts.handles], limit: 5000 });
    if (page.length === 0) return totals;
    for (const event of page) {
      for (const [field, delta] of Object.entries(orderCounts.increments([event]))) {
        totals[field] = (totals[field] ?? 0) + delta;
      }
    }
    after = page[page.length - 1]!.position;
  }
}

/**
 * One workload, its orders dealt out to the steps by number (a step's
 * orders are whole, whatever an earlier step cut short): 0–1 before the
 * rebuild, 2–7 during it, 8 after it, 9 for the last test.
 */
const workload = [...generateWorkload({ events: 40_000, seed: 5 })];
const ordersOf = (from: number, to: number) =>
  workload.filter((item) => {
    const digit = Number(item.streamId.replace(/\D/g, '')) % 10;
    return digit >= from && digit <= to;
  });

const liveCounts = async () =>
  readCounters(
    redis,
    prefix,
    'order_counts',
    await liveVersionOf(store, 'order_counts'),
    PARTITIONS,
  );

it('rebuilds a counter projection beside the live version while a live worker applies appends; the swap neither steps back nor loses or doubles an increment', async () => {
  await appendWorkload(store, ordersOf(0, 1));
  await eventually(async () => expect(await liveCounts()).toEqual(await expectedCounts()), {
    timeoutMs: 60_000,
  });

  // The rebuild sees the head through a relay checkpoint frozen here while
  // the live worker follows the appends: at the swap v1 is well ahead of
  // what the rebuild replayed, and v2 has to catch up to v1 while v1 stands still.
  const frozen = await store.pool.query<{ position: number }>(
    `INSERT INTO refract.relay_checkpoints (name, position)
     SELECT 'frozen', position FROM refract.relay_checkpoints WHERE name = 'main'
     RETURNING position`,
  );
  // The live version's total of handled events, read about every millisecond.
  const reader = monotonicPoll(async () => (await liveCounts()).events ?? 0);
  let appending = true;
  const during = ordersOf(2, 7);
  const rest = appendWorkload(store, during, {
    concurrency: 8,
    stop: () => !appending,
  });
  let result: Awaited<ReturnType<typeof rebuildAnyProjection>>;
  const progress: number[] = [];
  try {
    await eventually(
      async () => {
        const at = await counterCheckpoint(redis, prefix, 'order_counts', 1, 0);
        expect(at).toBeGreaterThan(frozen.rows[0]!.position + 500);
      },
      { timeoutMs: 60_000 },
    );
    result = await rebuildAnyProjection({
      store,
      projection: orderCounts,
      counters: { redis, keyPrefix: prefix },
      batchSize: 500,
      relayName: 'frozen',
      logger,
      onProgress: (p) => progress.push(p.processed),
    });
  } finally {
    appending = false;
  }
  const appended = await rest;
  // The live worker goes on with v2 from its checkpoints, to the fold exactly.
  await eventually(async () => expect(await liveCounts()).toEqual(await expectedCounts()), {
    timeoutMs: 60_000,
  });
  const reads = await reader.stop();

  expect(result.version).toBe(2);
  expect(await liveVersionOf(store, 'order_counts')).toBe(2);
  expect(reads.failures).toEqual([]);
  expect(reads.reads).toBeGreaterThan(10);
  expect(reads.backwards).toEqual([]);
  // Still appending at the swap: otherwise the test proves nothing about it.
  expect(appended.length).toBeLessThan(during.length);
  expect(progress.at(-1)).toBeGreaterThan(0);

  // And it stays equal as appends go on after the swap.
  await appendWorkload(store, ordersOf(8, 8));
  await eventually(async () => expect(await liveCounts()).toEqual(await expectedCounts()), {
    timeoutMs: 60_000,
  });
  expect((await liveCounts()).events).toBeGreaterThan(0);
  // v1 is kept until the next rebuild.
  expect(await counterVersions(redis, prefix, 'order_counts')).toEqual([1, 2]);
}, 180_000);

it('a rebuild that died resumes from its checkpoints and applies nothing twice; a rebuild drops the retired version', async () => {
  const controller = new AbortController();
  await expect(
    rebuildAnyProjection({
      store,
      projection: orderCounts,
      counters: { redis, keyPrefix: prefix },
      batchSize: 50,
      concurrency: 1,
      logger,
      signal: controller.signal,
      // Dies half-way through the replay.
      onProgress: (p) => p.processed > 300 && controller.abort(),
      progressIntervalMs: 0,
    }),
  ).rejects.toThrow();
  expect(await liveVersionOf(store, 'order_counts')).toBe(2);
  // Starting, it dropped v1, retired by the swap to v2; v3 is half-built.
  expect(await counterVersions(redis, prefix, 'order_counts')).toEqual([2, 3]);
  const halfway = await readCounters(redis, prefix, 'order_counts', 3, PARTITIONS);
  expect(halfway.events).toBeGreaterThan(0);
  expect(halfway.events).toBeLessThan((await expectedCounts()).events!);

  const result = await rebuildAnyProjection({
    store,
    projection: orderCounts,
    counters: { redis, keyPrefix: prefix },
    logger,
  });
  expect(result.version).toBe(3);
  expect(await readCounters(redis, prefix, 'order_counts', 3, PARTITIONS)).toEqual(
    await expectedCounts(),
  );
  expect(await counterVersions(redis, prefix, 'order_counts')).toEqual([2, 3]);
}, 120_000);

it('a freeze left by a swap that died is lifted by the first live worker it refuses', async () => {
  // As if a rebuild froze v3 and its process died before committing the swap.
  for (let p = 0; p < PARTITIONS; p++) {
    await freezeCounters(redis, prefix, 'order_counts', 3, p);
  }
  await appendWorkload(store, ordersOf(9, 9));
  // Fails (the worker refused for good) without the lifting in settleCounterFreeze.
  await eventually(async () => expect(await liveCounts()).toEqual(await expectedCounts()), {
    timeoutMs: 30_000,
  });
  expect(await liveVersionOf(store, 'order_counts')).toBe(3);
}, 60_000);
