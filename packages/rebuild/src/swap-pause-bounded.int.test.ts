import type { Projection } from '@refract/core';
import { generateWorkload, ordersApp } from '@refract/example-orders';
import { createLogger } from '@refract/observability';
import { eventually } from '@refract/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { rebuildProjection } from './rebuild.js';
import {
  appendWorkload,
  caughtUp,
  customerStats,
  expectedStats,
  liveVersionOf,
  startOrdersStack,
} from './testing/orders-harness.js';

// Invariant 10, the swap is short: live workers wait only for the tail they
// were ahead by, never for the replay. The replay is made long enough (at
// least a second) that a pause proportional to it stands out from noise.

const customerStatsProjection = ordersApp.projection('customer_stats') as Projection;
const logger = createLogger({ service: 'swap-pause-test', level: 'silent' });
/** The share of the rebuild's time live workers may be paused for. */
const PAUSE_SHARE = 0.1;
let stack: Awaited<ReturnType<typeof startOrdersStack>>;

beforeAll(async () => {
  stack = await startOrdersStack('swap_pause');
});

afterAll(async () => {
  await stack?.close();
});

it('swap pause bounded: live workers are paused for under 10% of a replay of at least a second', async () => {
  const { store } = stack;
  const all = [...generateWorkload({ events: 24_000, seed: 23 })];
  const first = await appendWorkload(store, all.slice(0, 20_000));
  await eventually(async () => expect(await caughtUp(store, 'customer_stats', 1)).toBe(true), {
    timeoutMs: 60_000,
  });

  // Appends go on during the rebuild, so the swap has a tail to apply.
  let appending = true;
  const rest = appendWorkload(store, all.slice(20_000), { concurrency: 2, stop: () => !appending });
  let result: Awaited<ReturnType<typeof rebuildProjection>>;
  const started = performance.now();
  try {
    // Pages of 20 events: 1,000 page commits, so the replay lasts over a second
    // on a fast idle machine too (pages of 200 took 855 ms on one).
    result = await rebuildProjection({
      store,
      projection: customerStatsProjection,
      batchSize: 20,
      concurrency: 1,
      logger,
    });
  } finally {
    appending = false;
  }
  const rebuildMs = performance.now() - started;
  const appended = [...first, ...(await rest)];

  const measured = `pause ${Math.round(result.pauseMs)} ms of a ${Math.round(rebuildMs)} ms rebuild`;
  expect(rebuildMs, measured).toBeGreaterThanOrEqual(1_000);
  expect(result.pauseMs, measured).toBeLessThan(rebuildMs * PAUSE_SHARE);
  // A correct rebuild, not merely a fast one.
  expect(await liveVersionOf(store, 'customer_stats')).toBe(2);
  await eventually(async () => expect(await caughtUp(store, 'customer_stats', 2)).toBe(true), {
    timeoutMs: 60_000,
  });
  expect(await customerStats(store, 'projections.customer_stats')).toEqual(expectedStats(appended));
}, 180_000);
