import type { Projection } from '@refract/core';
import type { EventStore } from '@refract/event-store';
import { generateWorkload, ordersApp, type WorkloadEvent } from '@refract/example-orders';
import { createLogger } from '@refract/observability';
import { setProjectionPaused } from '@refract/projector';
import { eventually } from '@refract/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RebuildQueue } from './jobs/rebuild-queue.js';
import { rebuildProjection } from './rebuild.js';
import { jobInState, startRebuildJobs } from './testing/cutover-harness.js';
import {
  appendWorkload,
  caughtUp,
  expectedStats,
  liveVersionOf,
  monotonicPoll,
  startOrdersStack,
  untilCaughtUp,
} from './testing/orders-harness.js';

// The verified cutover: v+1 is compared with the live v at the same
// checkpoints before the swap. The live worker runs customer_stats as the
// example ships it; the rebuilds run either the same code or a "changed
// handler" that sets the orders placed of chosen customers to -1, a bug a
// comparison must catch before v+1 is served.

const original = ordersApp.projection('customer_stats') as Projection;
const logger = createLogger({ service: 'cutover-test', level: 'silent' });
const all = [...generateWorkload({ events: 20_000, seed: 31 })];
let appended: WorkloadEvent[] = [];
let stack: Awaited<ReturnType<typeof startOrdersStack>>;
let store: EventStore;
let queue: RebuildQueue;
let jobs: Awaited<ReturnType<typeof startRebuildJobs>>;
/** The customers the changed handler marks (-1 orders placed); set by each test. */
let marked: string[] = [];

const changed: Projection = {
  ...original,
  async applyBatch(events, ctx) {
    await original.applyBatch(events, ctx);
    await ctx.sql.query(
      `UPDATE ${ctx.table('customer_stats')} SET orders_placed = -1 WHERE customer_id = ANY ($1)`,
      [marked],
    );
  },
};

async function appendMore(count: number): Promise<void> {
  const from = appended.length;
  appended = [...appended, ...(await appendWorkload(store, all.slice(from, from + count)))];
}

/** The customers so far, sorted, so a test picks the same ones every run. */
function customers(): string[] {
  return [...expectedStats(appended).keys()].sort();
}

/**
 * Reads the marked customers through the live view about every millisecond:
 * -1 orders placed is v+1's mark. Records when it was seen and every failure.
 */
function markWatcher(ids: readonly string[]) {
  const seen: number[] = [];
  const poll = monotonicPoll(async () => {
    const rows = await store.pool.query<{ marked: number }>(
      `SELECT count(*) FILTER (WHERE orders_placed = -1)::int AS marked
       FROM projections.customer_stats WHERE customer_id = ANY ($1)`,
      [ids],
    );
    if (rows.rows[0]!.marked > 0) seen.push(performance.now());
    return 0;
  });
  return { seen, stop: () => poll.stop() };
}

beforeAll(async () => {
  stack = await startOrdersStack('cutover');
  store = stack.store;
  jobs = await startRebuildJobs(stack, [changed], logger);
  queue = jobs.queue;
  await appendMore(3_000);
  await untilCaughtUp(store, 'customer_stats', 1);
});

afterAll(async () => {
  await jobs?.close();
  await stack?.close();
});

it('a rebuild with identical code swaps with an empty report', async () => {
  const result = await rebuildProjection({ store, projection: original, logger, batchSize: 500 });
  expect(result.held).toBe(false);
  expect(await liveVersionOf(store, 'customer_stats')).toBe(2);
  const report = result.report!;
  expect(report.verdict).toBe('identical');
  for (const table of report.tables) {
    expect(table.differing, table.table).toBe(0);
    expect(table.first).toEqual([]);
    expect(table.rows.live).toBe(table.rows.next);
    expect(table.partitions.length).toBeGreaterThan(0);
  }
  const stats = report.tables.find((t) => t.table === 'customer_stats')!;
  expect(stats.rows.next).toBe(expectedStats(appended).size);
  // Discovered from the catalog: the primary key, every other column compared.
  expect(stats.key).toEqual(['customer_id']);
  expect(stats.columns).toEqual([
    'orders_placed',
    'orders_shipped',
    'orders_cancelled',
    'lifetime_value_cents',
  ]);
}, 60_000);

it('the live version is caught up to v+1 before the comparison, by the rebuild itself when no live worker moves it', async () => {
  await setProjectionPaused(store.pool, 'customer_stats', true);
  try {
    await appendMore(500);
    // The unpaused order_summary beside it got the appends: the live worker
    // ran, and left customer_stats behind.
    await untilCaughtUp(store, 'order_summary', 1);
    expect(await caughtUp(store, 'customer_stats', 2)).toBe(false);
    const result = await rebuildProjection({
      store,
      projection: original,
      logger,
      batchSize: 500,
      liveCatchUpMs: 200,
    });
    expect(result.held).toBe(false);
    expect(result.report?.verdict).toBe('identical');
    expect(await liveVersionOf(store, 'customer_stats')).toBe(3);
    const stats = result.report!.tables.find((t) => t.table === 'customer_stats')!;
    expect(stats.rows.live).toBe(expectedStats(appended).size);
  } finally {
    await setProjectionPaused(store.pool, 'customer_stats', false);
  }
  await untilCaughtUp(store, 'customer_stats', 3);
}, 60_000);

it('a changed handler holds the rebuild in verifying with the differing keys; v keeps serving and following; approve swaps; reads never fail nor see v+1 before', async () => {
  marked = customers().slice(0, 3);
  const want = expectedStats(appended);
  const watcher = markWatcher(marked);
  let approvedAt = Number.POSITIVE_INFINITY;
  let reads: Awaited<ReturnType<typeof watcher.stop>>;
  try {
    const { jobId } = await queue.enqueue('customer_stats');
    const held = await jobInState(queue, jobId, 'verifying');
    expect(await liveVersionOf(store, 'customer_stats')).toBe(3);
    const report = held.cutoverReport!;
    expect(report.verdict).toBe('unexpected');
    const stats = report.tables.find((t) => t.table === 'customer_stats')!;
    expect(stats.differing).toBe(3);
    expect(stats.unexpected).toBe(3);
    expect(stats.first.map((d) => d.key.customer_id)).toEqual(marked);
    for (const d of stats.first) {
      const id = d.key.customer_id as string;
      expect(d.live).toMatchObject({ orders_placed: want.get(id)![0] });
      expect(d.next).toMatchObject({ orders_placed: -1 });
    }
    // Both sides of a differing partition, the others equal.
    expect(stats.partitions.some((p) => p.live.checksum !== p.next.checksum)).toBe(true);
    expect(report.tables.find((t) => t.table === 'customer_stats_orders')!.differing).toBe(0);

    // Held: v keeps following the log; approving is for held jobs only.
    await appendMore(1_000);
    await untilCaughtUp(store, 'customer_stats', 3);
    expect(watcher.seen).toEqual([]);
    await expect(queue.approve('no-such-job')).rejects.toMatchObject({ code: 'job_not_found' });

    approvedAt = performance.now();
    const approved = await queue.approve(jobId);
    expect(approved.approved).toBe(true);
    const done = await jobInState(queue, jobId, 'completed');
    expect(done.cutoverReport?.verdict).toBe('unexpected');
    expect(await liveVersionOf(store, 'customer_stats')).toBe(4);
    await eventually(() => expect(watcher.seen.length).toBeGreaterThan(0), { timeoutMs: 10_000 });
    await expect(queue.approve(jobId)).rejects.toMatchObject({
      code: 'rebuild_not_verifying',
      details: { field: 'jobId', state: 'completed' },
    });
  } finally {
    reads = await watcher.stop();
  }
  expect(reads.failures).toEqual([]);
  expect(reads.reads).toBeGreaterThan(10);
  expect(watcher.seen.filter((at) => at < approvedAt)).toEqual([]);
}, 120_000);

it('cancel drops a held v+1 and leaves v; declared changes swap without holding', async () => {
  marked = customers().slice(3, 5);
  const { jobId } = await queue.enqueue('customer_stats');
  const held = await jobInState(queue, jobId, 'verifying');
  const stats = held.cutoverReport!.tables.find((t) => t.table === 'customer_stats')!;
  expect(stats.first.map((d) => d.key.customer_id)).toEqual(
    expect.arrayContaining(customers().slice(3, 5)),
  );
  const cancelled = await queue.cancel(jobId);
  expect(cancelled.state).toBe('cancelled');
  expect(await liveVersionOf(store, 'customer_stats')).toBe(4);
  const left = await store.pool.query(
    "SELECT 1 FROM pg_tables WHERE schemaname = 'projections' AND tablename LIKE 'customer_stats%_v5'",
  );
  expect(left.rowCount).toBe(0);

  // The same change, declared: the swap goes ahead and the report says so.
  const declared = await queue.enqueue('customer_stats', {
    expectChanges: { columns: ['customer_stats.orders_placed'] },
  });
  const done = await jobInState(queue, declared.jobId, 'completed');
  expect(done.cutoverReport?.verdict).toBe('expected');
  expect(await liveVersionOf(store, 'customer_stats')).toBe(5);
}, 120_000);
