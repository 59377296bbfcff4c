import { generateWorkload, orderProjections } from '@refract/example-orders';
import { createLogger } from '@refract/observability';
import { collectLines, eventually, repeatedKeys } from '@refract/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { appendWorkload, caughtUp, startOrdersStack } from '../testing/orders-harness.js';
import { createRebuildQueue, type RebuildQueue } from './rebuild-queue.js';
import { startRebuildWorker } from './rebuild-worker.js';

/**
 * A rebuild job's lines are bound twice over: by the job (job id, share) and
 * by the rebuild it runs (projection, rebuild). Read raw, none may carry a
 * key twice: JSON.parse would hide it, a log pipeline indexing fields would not.
 */
const { lines, stream } = collectLines();
const logger = createLogger({
  service: 'rebuild-log-keys-test',
  level: 'debug',
  destination: stream,
});
let stack: Awaited<ReturnType<typeof startOrdersStack>>;
let queue: RebuildQueue;

beforeAll(async () => {
  stack = await startOrdersStack('rebuild_log_keys');
  queue = createRebuildQueue({
    store: stack.store,
    redisUrl: stack.ns.url,
    keyPrefix: stack.ns.prefix,
    projections: orderProjections,
    logger,
  });
  await appendWorkload(stack.store, [...generateWorkload({ events: 600, seed: 5 })]);
  await eventually(
    async () => expect(await caughtUp(stack.store, 'customer_stats', 1)).toBe(true),
    {
      timeoutMs: 60_000,
    },
  );
});

afterAll(async () => {
  await queue?.close();
  await stack?.close();
});

it('a rebuild job through the queue logs no line with a repeated key', async () => {
  const worker = await startRebuildWorker({
    databaseUrl: stack.db.url,
    redisUrl: stack.ns.url,
    keyPrefix: stack.ns.prefix,
    projections: orderProjections,
    logger,
    progressIntervalMs: 100,
  });
  try {
    const { jobId } = await queue.enqueue('customer_stats');
    await eventually(async () => expect((await queue.get(jobId))?.state).toBe('completed'), {
      timeoutMs: 60_000,
      intervalMs: 50,
    });
  } finally {
    await worker.close();
  }
  const records = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  // The rebuild's own lines, bound by both the job and the rebuild, were written.
  expect(records.find((r) => r.msg === 'rebuild started')).toMatchObject({
    projection: 'customer_stats',
    rebuild: true,
    job: expect.any(String),
  });
  expect(records.some((r) => r.msg === 'rebuild completed')).toBe(true);
  const offending = lines
    .map((line) => ({ line, keys: repeatedKeys(line) }))
    .filter((found) => found.keys.length > 0);
  expect(offending).toEqual([]);
});
