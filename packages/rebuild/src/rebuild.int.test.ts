import type { Projection } from '@refract/core';
import type { EventStore } from '@refract/event-store';
import { generateWorkload, ordersApp } from '@refract/example-orders';
import { createLogger } from '@refract/observability';
import { eventually } from '@refract/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { dropVersion, rebuildProjection } from './rebuild.js';
import {
  appendWorkload,
  caughtUp,
  customerStats,
  expectedStats,
  liveVersionOf,
  monotonicReader,
  startOrdersStack,
} from './testing/orders-harness.js';

/** customer_stats as the orders application runs it, its pool filled in. */
const customerStatsProjection = ordersApp.projection('customer_stats') as Projection;

const logger = createLogger({ service: 'rebuild-test', level: 'silent' });
let stack: Awaited<ReturnType<typeof startOrdersStack>>;
let store: EventStore;

beforeAll(async () => {
  stack = await startOrdersStack('rebuild');
  store = stack.store;
});

afterAll(async () => {
  await stack?.close();
});

it('rebuilds customer_stats beside the live version while appends continue; reads never fail, never see a half-built table, never step backwards', async () => {
  const all = [...generateWorkload({ events: 30_000, seed: 11 })];
  const first = await appendWorkload(store, all.slice(0, 6_000));
  await eventually(async () => expect(await caughtUp(store, 'customer_stats', 1)).toBe(true), {
    timeoutMs: 60_000,
  });
  const before = (await customerStats(store, 'projections.customer_stats')).size;

  // The rebuild sees the head through a relay checkpoint frozen here, while
  // appends go on and the live worker follows them: at the swap v1 is well
  // ahead of what the rebuild replayed, the case where a swap without the
  // tail step shows readers an older state on v2 than they just saw on v1.
  const frozen = await store.pool.query<{ position: number }>(
    `INSERT INTO refract.relay_checkpoints (name, position)
     SELECT 'frozen', position FROM refract.relay_checkpoints WHERE name = 'main'
     RETURNING position`,
  );
  const reader = monotonicReader(store, before);
  let appending = true;
  const rest = appendWorkload(store, all.slice(6_000), { concurrency: 8, stop: () => !appending });
  const progress: number[] = [];
  let result: Awaited<ReturnType<typeof rebuildProjection>>;
  try {
    // The live worker is well past the frozen head before the rebuild starts.
    await eventually(
      async () => {
        const v1 = await store.pool.query<{ position: number }>(
          `SELECT min(position)::bigint AS position FROM refract.projection_checkpoints
           WHERE projection = 'customer_stats' AND version = 1`,
        );
        expect(v1.rows[0]!.position).toBeGreaterThan(frozen.rows[0]!.position + 200);
      },
      { timeoutMs: 60_000 },
    );
    result = await rebuildProjection({
      store,
      projection: customerStatsProjection,
      batchSize: 500,
      relayName: 'frozen',
      logger,
      onProgress: (p) => progress.push(p.processed),
    });
  } finally {
    appending = false;
  }
  const appended = [...first, ...(await rest)];
  await eventually(async () => expect(await caughtUp(store, 'customer_stats', 2)).toBe(true), {
    timeoutMs: 60_000,
  });
  const reads = await reader.stop();

  expect(result.version).toBe(2);
  expect(result.pauseMs).toBeGreaterThanOrEqual(0);
  expect(reads.failures).toEqual([]);
  expect(reads.reads).toBeGreaterThan(10);
  expect(reads.thin).toEqual([]);
  expect(reads.backwards).toEqual([]);
  // Still appending at the swap: otherwise the test proves nothing about it.
  expect(appended.length).toBeGreaterThan(6_000);
  expect(appended.length).toBeLessThan(all.length);
  expect(progress.at(-1)).toBeGreaterThan(0);
  expect(await liveVersionOf(store, 'customer_stats')).toBe(2);
  const want = expectedStats(appended);
  expect(await customerStats(store, 'projections.customer_stats_v2')).toEqual(want);
  expect(await customerStats(store, 'projections.customer_stats')).toEqual(want);
  // v1 is kept until the next rebuild.
  expect((await customerStats(store, 'projections.customer_stats_v1')).size).toBeGreaterThan(0);
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
  expect(await liveVersionOf(store, 'customer_stats')).toBe(2);
  const tables = await store.pool.query(
    "SELECT 1 FROM pg_tables WHERE schemaname = 'projections' AND tablename LIKE 'customer_stats%_v3'",
  );
  expect(tables.rowCount).toBe(0);
  await expect(dropVersion(store, customerStatsProjection, 2)).rejects.toThrow(/is live/);
});
