import { type CounterProjection, defineCounterProjection } from '@refract/core';
import type { EventStore } from '@refract/event-store';
import { generateWorkload, type WorkloadEvent } from '@refract/example-orders';
import { createLogger } from '@refract/observability';
import { setProjectionPaused } from '@refract/projector';
import {
  counterKey,
  counterVersions,
  createRedisClient,
  type RedisClient,
  readCounters,
} from '@refract/stream-bus';
import { eventually } from '@refract/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { rebuildCounterProjection } from './counter-rebuild.js';
import type { RebuildQueue } from './jobs/rebuild-queue.js';
import { jobInState, startRebuildJobs } from './testing/cutover-harness.js';
import {
  appendWorkload,
  liveVersionOf,
  monotonicPoll,
  startOrdersStack,
  untilCaughtUp,
} from './testing/orders-harness.js';

// The verified cutover of a counter projection: v+1's Redis counters are
// compared with the live v's at the same checkpoints before the swap. The
// live worker runs order_counts as written here; the rebuilds run either
// the same code or a "changed handler" that negates one counter (`negated`,
// set by each test), a bug the comparison must catch before v+1 is served.

const PARTITIONS = 8;
const original: CounterProjection = defineCounterProjection({
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
/** The counter the changed handler negates. */
let negated = 'OrderCancelled';
const changed: CounterProjection = {
  ...original,
  increments(events) {
    const totals = original.increments(events);
    if (totals[negated] !== undefined) totals[negated] = -totals[negated]!;
    return totals;
  },
};

const logger = createLogger({ service: 'counter-cutover-test', level: 'silent' });
// Few orders open at once, so that orders end (ship, cancel) from the start.
const all = [...generateWorkload({ events: 20_000, seed: 17, concurrency: 20 })];
let appended: WorkloadEvent[] = [];
let stack: Awaited<ReturnType<typeof startOrdersStack>>;
let store: EventStore;
let redis: RedisClient;
let prefix: string;
let queue: RebuildQueue;
let jobs: Awaited<ReturnType<typeof startRebuildJobs>>;

async function appendMore(count: number): Promise<void> {
  const from = appended.length;
  appended = [...appended, ...(await appendWorkload(store, all.slice(from, from + count)))];
}

/** The fold of every event appended, as the original code counts it. */
function expectedCounts(): Record<string, number> {
  const handled = appended.filter((e) => original.handles.includes(e.event.type));
  const totals: Record<string, number> = { events: handled.length };
  for (const { event } of handled) totals[event.type] = (totals[event.type] ?? 0) + 1;
  return totals;
}

const countsOf = (version: number) =>
  readCounters(redis, prefix, 'order_counts', version, PARTITIONS);
const liveCounts = async () => countsOf(await liveVersionOf(store, 'order_counts'));
const liveFollows = () =>
  eventually(async () => expect(await liveCounts()).toEqual(expectedCounts()), {
    timeoutMs: 60_000,
  });

/** A rebuild run here, not by the job worker (no approval to wait for). */
const rebuildCounters = (projection: CounterProjection, options: { liveCatchUpMs?: number } = {}) =>
  rebuildCounterProjection({
    store,
    projection,
    counters: { redis, keyPrefix: prefix },
    logger,
    batchSize: 500,
    ...options,
  });

/** The partitions of `version` whose hash still carries a freeze. */
async function frozenPartitions(version: number): Promise<number[]> {
  const frozen: number[] = [];
  for (let p = 0; p < PARTITIONS; p++) {
    const key = counterKey(prefix, 'order_counts', version, p);
    if (await redis.hexists(key, '~frozen')) frozen.push(p);
  }
  return frozen;
}

beforeAll(async () => {
  stack = await startOrdersStack('counter-cutover', { extra: [original] });
  store = stack.store;
  prefix = stack.ns.prefix;
  redis = createRedisClient(stack.ns.url);
  jobs = await startRebuildJobs(stack, [changed], logger);
  queue = jobs.queue;
  await appendMore(3_000);
  await liveFollows();
});

afterAll(async () => {
  await jobs?.close();
  redis?.disconnect();
  await stack?.close();
});

it('a rebuild with identical code swaps with an empty report', async () => {
  const result = await rebuildCounters(original);
  expect(result.held).toBe(false);
  expect(await liveVersionOf(store, 'order_counts')).toBe(2);
  const report = result.report!;
  expect(report.verdict).toBe('identical');
  expect(report.tables).toHaveLength(1);
  const counters = report.tables[0]!;
  expect(counters.table).toBe('order_counts');
  expect(counters.key).toEqual(['counter']);
  // Not declared: every counter either version has.
  expect(counters.columns).toEqual(['OrderCancelled', 'OrderPlaced', 'OrderShipped', 'events']);
  expect(Object.keys(expectedCounts()).sort()).toEqual(counters.columns);
  expect(counters.differing).toBe(0);
  expect(counters.first).toEqual([]);
  expect(counters.rows).toEqual({ live: 4, next: 4 });
  expect(counters.partitions).toHaveLength(PARTITIONS);
  for (const p of counters.partitions) expect(p.next).toEqual(p.live);
  await liveFollows();
}, 60_000);

it('the live version is caught up to v+1 before the comparison, by the rebuild itself when no live worker moves it', async () => {
  await setProjectionPaused(store.pool, 'order_counts', true);
  try {
    await appendMore(500);
    // The unpaused order_summary beside it got the appends: the live worker
    // ran, and left order_counts behind.
    await untilCaughtUp(store, 'order_summary', 1);
    expect(await countsOf(2)).not.toEqual(expectedCounts());
    const result = await rebuildCounters(original, { liveCatchUpMs: 200 });
    expect(result.held).toBe(false);
    expect(result.report?.verdict).toBe('identical');
    expect(await liveVersionOf(store, 'order_counts')).toBe(3);
    // v was compared at the head, all appends applied.
    expect(await countsOf(2)).toEqual(expectedCounts());
  } finally {
    await setProjectionPaused(store.pool, 'order_counts', false);
  }
  await liveFollows();
}, 60_000);

it('a changed handler holds the rebuild in verifying with the differing counters; v is unfrozen and keeps following; approve swaps; reads never fail nor see v+1 before', async () => {
  negated = 'OrderCancelled';
  const want = expectedCounts();
  // The live counters about every millisecond: a negative count is v+1's mark.
  const seen: number[] = [];
  const reader = monotonicPoll(async () => {
    const counts = await liveCounts();
    if ((counts.OrderCancelled ?? 0) < 0) seen.push(performance.now());
    return counts.events ?? 0;
  });
  let approvedAt = Number.POSITIVE_INFINITY;
  let reads: Awaited<ReturnType<typeof reader.stop>>;
  try {
    const { jobId } = await queue.enqueue('order_counts');
    const held = await jobInState(queue, jobId, 'verifying');
    expect(await liveVersionOf(store, 'order_counts')).toBe(3);
    const report = held.cutoverReport!;
    expect(report.verdict).toBe('unexpected');
    const counters = report.tables[0]!;
    expect(counters.differing).toBe(1);
    expect(counters.unexpected).toBe(1);
    expect(counters.first).toEqual([
      {
        key: { counter: 'OrderCancelled' },
        live: { value: want.OrderCancelled },
        next: { value: -want.OrderCancelled! },
      },
    ]);
    expect(counters.partitions.some((p) => p.live.checksum !== p.next.checksum)).toBe(true);

    // Held: the freeze of the swap is lifted and v keeps following the log.
    expect(await frozenPartitions(3)).toEqual([]);
    await appendMore(1_000);
    await liveFollows();
    expect(seen).toEqual([]);

    approvedAt = performance.now();
    const approved = await queue.approve(jobId);
    expect(approved.approved).toBe(true);
    const done = await jobInState(queue, jobId, 'completed');
    expect(done.cutoverReport?.verdict).toBe('unexpected');
    expect(await liveVersionOf(store, 'order_counts')).toBe(4);
    // Caught up first: v+1 holds every append made while it was held.
    expect((await countsOf(4)).events).toBe(expectedCounts().events);
    await eventually(() => expect(seen.length).toBeGreaterThan(0), { timeoutMs: 10_000 });
  } finally {
    reads = await reader.stop();
  }
  expect(reads.failures).toEqual([]);
  expect(reads.reads).toBeGreaterThan(10);
  expect(reads.backwards).toEqual([]);
  expect(seen.filter((at) => at < approvedAt)).toEqual([]);
}, 120_000);

it("cancel drops a held v+1's counters and leaves v; declared changes swap without holding", async () => {
  // v4 negates OrderCancelled; this v+1 negates OrderShipped instead.
  negated = 'OrderShipped';
  const { jobId } = await queue.enqueue('order_counts');
  const held = await jobInState(queue, jobId, 'verifying');
  expect(held.cutoverReport!.tables[0]!.first.map((d) => d.key.counter)).toEqual([
    'OrderCancelled',
    'OrderShipped',
  ]);
  expect(await counterVersions(redis, prefix, 'order_counts')).toEqual([4, 5]);
  const cancelled = await queue.cancel(jobId);
  expect(cancelled.state).toBe('cancelled');
  expect(await liveVersionOf(store, 'order_counts')).toBe(4);
  expect(await counterVersions(redis, prefix, 'order_counts')).toEqual([4]);

  // The same change, declared: the swap goes ahead and the report says so.
  const declared = await queue.enqueue('order_counts', {
    expectChanges: { columns: ['order_counts.OrderShipped', 'OrderCancelled'] },
  });
  const done = await jobInState(queue, declared.jobId, 'completed');
  expect(done.cutoverReport?.verdict).toBe('expected');
  expect(done.cutoverReport?.tables[0]?.unexpected).toBe(0);
  expect(await liveVersionOf(store, 'order_counts')).toBe(5);
}, 120_000);

it('a projection that declares its compared counters is verified on those alone', async () => {
  negated = 'OrderPlaced';
  const result = await rebuildCounters({ ...changed, compare: { counters: ['events'] } });
  expect(result.held).toBe(false);
  expect(result.report?.verdict).toBe('identical');
  expect(result.report?.tables[0]?.columns).toEqual(['events']);
  expect(await liveVersionOf(store, 'order_counts')).toBe(6);
}, 60_000);

it('a counter one version lacks and the other holds at 0 is no difference', async () => {
  // The code of v6 (it negates OrderPlaced), plus a counter always moved by 0.
  negated = 'OrderPlaced';
  const result = await rebuildCounters({
    ...changed,
    increments: (events) => ({ ...changed.increments(events), unused: 0 }),
  });
  expect(result.held).toBe(false);
  expect(result.report?.verdict).toBe('identical');
  expect(result.report?.tables[0]?.columns).toContain('unused');
  expect(await liveVersionOf(store, 'order_counts')).toBe(7);
}, 60_000);
