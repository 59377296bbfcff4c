import type { EventStore } from '@refract/event-store';
import { generateWorkload, orderProjections, type WorkloadEvent } from '@refract/example-orders';
import { createLogger } from '@refract/observability';
import { eventually, type TestDatabase, type TestRedisNamespace } from '@refract/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  appendWorkload,
  caughtUp,
  customerStats,
  expectedStats,
  liveVersionOf,
  monotonicReader,
  startOrdersStack,
} from '../testing/orders-harness.js';
import type { RebuildJobView } from './rebuild-job-view.js';
import { createRebuildQueue, type RebuildQueue } from './rebuild-queue.js';
import { type RebuildWorkerOptions, startRebuildWorker } from './rebuild-worker.js';

const logger = createLogger({ service: 'rebuild-queue-test', level: 'silent' });
const all = [...generateWorkload({ events: 30_000, seed: 23 })];
let appended: WorkloadEvent[] = [];
let db: TestDatabase;
let ns: TestRedisNamespace;
let store: EventStore;
let stack: Awaited<ReturnType<typeof startOrdersStack>>;
let queue: RebuildQueue;

// Short locks and polls so that hand-overs and cancels take a second, not half a minute.
const fast = {
  lockDurationMs: 2000,
  stalledIntervalMs: 1000,
  backoffMs: 200,
} as const;

function workerOptions(extra: Partial<RebuildWorkerOptions> = {}): RebuildWorkerOptions {
  return {
    databaseUrl: db.url,
    redisUrl: ns.url,
    keyPrefix: ns.prefix,
    projections: orderProjections,
    logger,
    ...fast,
    cancelPollMs: 50,
    progressIntervalMs: 100,
    heartbeatMs: 200,
    ...extra,
  } as RebuildWorkerOptions;
}

async function appendMore(count: number): Promise<void> {
  const from = appended.length;
  appended = [...appended, ...(await appendWorkload(store, all.slice(from, from + count)))];
}

async function settled(jobId: string, seen: RebuildJobView[] = []): Promise<RebuildJobView> {
  let view: RebuildJobView | null = null;
  await eventually(
    async () => {
      view = await queue.get(jobId);
      if (view) seen.push(view);
      expect(['completed', 'failed', 'cancelled']).toContain(view?.state);
    },
    { timeoutMs: 120_000, intervalMs: 50 },
  );
  return view!;
}

beforeAll(async () => {
  stack = await startOrdersStack('rebuild_queue');
  ({ db, ns, store } = stack);
  queue = createRebuildQueue({
    store,
    redisUrl: ns.url,
    keyPrefix: ns.prefix,
    projections: orderProjections,
    logger,
    ...fast,
  });
  await appendMore(4_000);
  await eventually(async () => expect(await caughtUp(store, 'customer_stats', 1)).toBe(true), {
    timeoutMs: 60_000,
  });
});

afterAll(async () => {
  await queue?.close();
  await queue?.close();
  await stack?.close();
});

it('rebuilds customer_stats through the queue while appends continue: reads never fail, never thin, never step back; v2 is the fold', async () => {
  const worker = await startRebuildWorker(workerOptions({ batchSize: 200 }));
  const before = (await customerStats(store, 'projections.customer_stats')).size;
  const reader = monotonicReader(store, before);
  let appending = true;
  const rest = appendWorkload(store, all.slice(appended.length, appended.length + 20_000), {
    concurrency: 8,
    stop: () => !appending,
  });
  const seen: RebuildJobView[] = [];
  let view: RebuildJobView;
  let jobId: string;
  try {
    ({ jobId } = await queue.enqueue('customer_stats'));
    expect((await queue.current('customer_stats'))?.jobId).toBe(jobId);
    view = await settled(jobId, seen);
  } finally {
    appending = false;
  }
  const during = await rest;
  appended = [...appended, ...during];
  await eventually(async () => expect(await caughtUp(store, 'customer_stats', 2)).toBe(true), {
    timeoutMs: 60_000,
  });
  const reads = await reader.stop();
  await worker.close();
  await worker.close();

  expect(view.state).toBe('completed');
  // Appends were still going on when the job swapped.
  expect(during.length).toBeGreaterThan(0);
  expect(during.length).toBeLessThan(20_000);
  expect(view.targetVersion).toBe(2);
  expect(view.swapPauseMs).toBeGreaterThanOrEqual(0);
  expect(view.processed).toBeGreaterThan(0);
  expect(view.finishedAt).toBeDefined();
  // Progress was visible while it ran, and only grew.
  const processed = seen.map((v) => v.processed);
  expect(processed).toEqual([...processed].sort((a, b) => a - b));
  expect(seen.some((v) => v.state === 'active' && v.processed > 0 && v.total > 0)).toBe(true);
  expect(await queue.current('customer_stats')).toBeNull();
  expect(reads.failures).toEqual([]);
  expect(reads.reads).toBeGreaterThan(10);
  expect(reads.thin).toEqual([]);
  expect(reads.backwards).toEqual([]);
  expect(await liveVersionOf(store, 'customer_stats')).toBe(2);
  expect(await customerStats(store, 'projections.customer_stats')).toEqual(expectedStats(appended));
}, 180_000);

it('two concurrent enqueues make one job; the other gets rebuild_running with its jobId; a waiting job cancels at once', async () => {
  const results = await Promise.allSettled([
    queue.enqueue('customer_stats'),
    queue.enqueue('customer_stats'),
  ]);
  const won = results.filter((r) => r.status === 'fulfilled');
  const lost = results.filter((r) => r.status === 'rejected');
  expect(won).toHaveLength(1);
  expect(lost).toHaveLength(1);
  const { jobId } = (won[0] as PromiseFulfilledResult<{ jobId: string }>).value;
  expect((lost[0] as PromiseRejectedResult).reason).toMatchObject({
    code: 'rebuild_running',
    details: { jobId },
  });
  expect((await queue.current('customer_stats'))?.state).toBe('waiting');
  expect(await queue.queue.getJob(jobId)).toBeDefined();

  // No rebuild worker runs: the job is waiting, so cancel removes it.
  const cancelled = await queue.cancel(jobId);
  expect(cancelled.state).toBe('cancelled');
  expect(await queue.queue.getJob(jobId)).toBeUndefined();
  expect(await queue.current('customer_stats')).toBeNull();
  // Cancelling a finished job answers it as it is.
  expect((await queue.cancel(jobId)).state).toBe('cancelled');

  await expect(queue.enqueue('no_such_projection')).rejects.toMatchObject({
    code: 'projection_not_found',
  });
  await expect(queue.cancel('no-such-job')).rejects.toMatchObject({ code: 'job_not_found' });
  expect(await queue.get('no-such-job')).toBeNull();
});

it('a cancelled active rebuild drops its version; v stays live and follows live events', async () => {
  // Small batches, one partition at a time: slow enough to cancel half-way.
  const worker = await startRebuildWorker(workerOptions({ batchSize: 10, replayConcurrency: 1 }));
  const { jobId } = await queue.enqueue('customer_stats');
  await eventually(
    async () => {
      const view = await queue.get(jobId);
      expect(view?.state).toBe('active');
      expect(view?.processed).toBeGreaterThan(100);
    },
    { timeoutMs: 60_000, intervalMs: 20 },
  );
  const view = await queue.cancel(jobId);
  await worker.close();

  expect(view.state).toBe('cancelled');
  expect(view.processed).toBeLessThan(view.total);
  expect(await liveVersionOf(store, 'customer_stats')).toBe(2);
  const leftovers = await store.pool.query(
    `SELECT 1 FROM pg_tables WHERE schemaname = 'projections' AND tablename = 'customer_stats_v3'
     UNION ALL SELECT 1 FROM refract.projection_checkpoints
     WHERE projection = 'customer_stats' AND version = 3`,
  );
  expect(leftovers.rowCount).toBe(0);
  await appendMore(1_000);
  await eventually(async () => expect(await caughtUp(store, 'customer_stats', 2)).toBe(true), {
    timeoutMs: 60_000,
  });
  expect(await customerStats(store, 'projections.customer_stats')).toEqual(expectedStats(appended));
}, 120_000);

it('with two rebuild workers the replay is split into child jobs that run on both; the result is the fold', async () => {
  const a = await startRebuildWorker(workerOptions({ batchSize: 50, workerId: 'rebuild-a' }));
  const b = await startRebuildWorker(workerOptions({ batchSize: 50, workerId: 'rebuild-b' }));
  const { jobId } = await queue.enqueue('customer_stats');
  const view = await settled(jobId);
  await Promise.all([a.close(), b.close()]);

  expect(view.state).toBe('completed');
  expect(view.shares).toHaveLength(2);
  expect(new Set(view.shares.map((s) => s.worker))).toEqual(new Set(['rebuild-a', 'rebuild-b']));
  expect(view.shares.flatMap((s) => s.partitions).sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  expect(view.shares.every((s) => s.applied > 0)).toBe(true);
  const version = view.targetVersion!;
  expect(await liveVersionOf(store, 'customer_stats')).toBe(version);
  expect(await customerStats(store, `projections.customer_stats_v${version}`)).toEqual(
    expectedStats(appended),
  );
}, 120_000);

it('a worker that closes gracefully hands its rebuild back without spending an attempt; another one finishes it', async () => {
  const first = await startRebuildWorker(
    workerOptions({ batchSize: 10, replayConcurrency: 1, workerId: 'rebuild-leaving' }),
  );
  const { jobId } = await queue.enqueue('customer_stats');
  await eventually(async () => expect((await queue.get(jobId))?.processed).toBeGreaterThan(100), {
    timeoutMs: 60_000,
  });
  await first.close();
  const job = await queue.queue.getJob(jobId);
  expect(['delayed', 'waiting']).toContain(await job?.getState());
  expect(job?.attemptsMade).toBe(0);
  expect((await queue.get(jobId))?.state).toBe('active');

  const second = await startRebuildWorker(workerOptions({ workerId: 'rebuild-staying' }));
  const view = await settled(jobId);
  await second.close();
  expect(view.state).toBe('completed');
  expect((await queue.queue.getJob(jobId))?.returnvalue).toMatchObject({
    worker: 'rebuild-staying',
  });
  expect(await customerStats(store, `projections.customer_stats_v${view.targetVersion}`)).toEqual(
    expectedStats(appended),
  );
}, 120_000);
