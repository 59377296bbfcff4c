import type { AnyProjection } from '@refract/core';
import type { Logger } from '@refract/observability';
import { eventually } from '@refract/testing';
import { expect } from 'vitest';
import type { RebuildJobView } from '../jobs/rebuild-job-view.js';
import { createRebuildQueue, type RebuildQueue } from '../jobs/rebuild-queue.js';
import { startRebuildWorker } from '../jobs/rebuild-worker.js';
import type { startOrdersStack } from './orders-harness.js';

/** Helpers of the verified-cutover tests (table and counter projections). */

/**
 * A rebuild queue and one rebuild worker on `stack`, running `projections`
 * (the rebuilds' code, which may differ from the live worker's), with short
 * periods so held jobs, approvals and cancels show quickly.
 */
export async function startRebuildJobs(
  stack: Awaited<ReturnType<typeof startOrdersStack>>,
  projections: AnyProjection[],
  logger: Logger,
) {
  const options = {
    store: stack.store,
    redisUrl: stack.ns.url,
    keyPrefix: stack.ns.prefix,
    projections,
    logger,
    lockDurationMs: 2000,
    stalledIntervalMs: 1000,
    backoffMs: 200,
  };
  const queue = createRebuildQueue(options);
  const worker = await startRebuildWorker({ ...options, cancelPollMs: 50, heartbeatMs: 200 });
  return {
    queue,
    async close() {
      await worker.close();
      await queue.close();
    },
  };
}

/** Waits for a rebuild job to reach `wanted`, and answers its view then. */
export async function jobInState(
  queue: RebuildQueue,
  jobId: string,
  wanted: RebuildJobView['state'],
): Promise<RebuildJobView> {
  let view: RebuildJobView | null = null;
  await eventually(
    async () => {
      view = await queue.get(jobId);
      expect(view?.state).toBe(wanted);
    },
    { timeoutMs: 60_000, intervalMs: 50 },
  );
  return view!;
}
