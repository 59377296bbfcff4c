import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { EventStore } from '@refract/event-store';
import { generateWorkload, orderProjections, type WorkloadEvent } from '@refract/example-orders';
import { createLogger } from '@refract/observability';
import {
  eventually,
  ORDERS_APP_CONFIG,
  type TestDatabase,
  type TestRedisNamespace,
} from '@refract/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  appendWorkload,
  caughtUp,
  customerStats,
  expectedStats,
  liveVersionOf,
  startOrdersStack,
} from '../testing/orders-harness.js';
import { createRebuildQueue, type RebuildQueue } from './rebuild-queue.js';

const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const FIXTURE = fileURLToPath(new URL('../testing/rebuild-worker-process.ts', import.meta.url));
const logger = createLogger({ service: 'rebuild-worker-e2e', level: 'silent' });
const all = [...generateWorkload({ events: 6_000, seed: 31 })];
let appended: WorkloadEvent[] = [];
let db: TestDatabase;
let ns: TestRedisNamespace;
let store: EventStore;
let stack: Awaited<ReturnType<typeof startOrdersStack>>;
let queue: RebuildQueue;
const children: ChildProcess[] = [];

/** Starts the rebuild worker fixture as a real process; resolves once it printed `ready`. */
async function spawnRebuildWorker(workerId: string): Promise<ChildProcess> {
  const options = {
    config: ORDERS_APP_CONFIG,
    databaseUrl: db.url,
    redisUrl: ns.url,
    keyPrefix: ns.prefix,
    workerId,
    // Small batches, one partition at a time: slow enough to be killed half-way.
    batchSize: 10,
    replayConcurrency: 1,
    lockDurationMs: 2000,
    stalledIntervalMs: 1000,
    progressIntervalMs: 100,
  };
  const child = spawn(
    process.execPath,
    ['--conditions=@refract/source', '--import', 'tsx', FIXTURE, JSON.stringify(options)],
    { cwd: REPO_ROOT, env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  children.push(child);
  let output = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.split('\n').includes('ready')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`${workerId} exited with ${code}`)));
  });
  return child;
}

beforeAll(async () => {
  stack = await startOrdersStack('rebuild_e2e');
  ({ db, ns, store } = stack);
  queue = createRebuildQueue({
    store,
    redisUrl: ns.url,
    keyPrefix: ns.prefix,
    projections: orderProjections,
    logger,
  });
  appended = await appendWorkload(store, all.slice(0, 5_000));
  await eventually(async () => expect(await caughtUp(store, 'customer_stats', 1)).toBe(true), {
    timeoutMs: 60_000,
  });
});

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await queue?.close();
  await stack?.close();
});

it('a rebuild whose process is killed half-way is resumed by another process from its checkpoints, applying nothing twice', async () => {
  const first = await spawnRebuildWorker('rebuild-a');
  const { jobId } = await queue.enqueue('customer_stats');
  await eventually(
    async () => {
      const view = await queue.get(jobId);
      expect(view?.state).toBe('active');
      expect(view?.processed).toBeGreaterThan(500);
    },
    { timeoutMs: 60_000 },
  );
  first.kill('SIGKILL');
  await once(first, 'exit');
  const atKill = (await queue.get(jobId))!;
  expect(atKill.state).toBe('active');
  expect(atKill.processed).toBeLessThan(atKill.total);

  // Live events go on meanwhile; the second process takes the stalled job over.
  appended = [...appended, ...(await appendWorkload(store, all.slice(5_000)))];
  const second = await spawnRebuildWorker('rebuild-b');
  await eventually(async () => expect((await queue.get(jobId))?.state).toBe('completed'), {
    timeoutMs: 90_000,
    intervalMs: 100,
  });
  // The table says completed before BullMQ stores the processor's return value.
  await eventually(async () =>
    expect((await queue.queue.getJob(jobId))?.returnvalue).toMatchObject({
      outcome: 'completed',
      worker: 'rebuild-b',
    }),
  );
  second.kill('SIGTERM');
  expect((await once(second, 'exit'))[0]).toBe(0);

  await eventually(async () => expect(await caughtUp(store, 'customer_stats', 2)).toBe(true), {
    timeoutMs: 60_000,
  });
  expect(await liveVersionOf(store, 'customer_stats')).toBe(2);
  // customer_stats counts: an event applied twice would show here.
  expect(await customerStats(store, 'projections.customer_stats_v2')).toEqual(
    expectedStats(appended),
  );
}, 120_000);
