import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { AnyProjection } from '@refract/core';
import type { Logger } from '@refract/observability';
import { createRedisClient } from '@refract/stream-bus';
import { Worker } from 'bullmq';
import {
  bullConnection,
  bullPrefix,
  REBUILD_QUEUE,
  type RebuildJobSettings,
} from './queue-settings.js';
import {
  createRebuildProcessor,
  onJobFailed,
  type ProcessorContext,
  type ReplaySettings,
} from './rebuild-processor.js';
import { RebuildTable } from './rebuild-table.js';
import { openStore, type StoreSource } from './store-source.js';
import { WorkerRegistry } from './worker-registry.js';

export type RebuildWorkerOptions = StoreSource &
  RebuildJobSettings &
  ReplaySettings & {
    redisUrl: string;
    /** Prefix of every Redis key, BullMQ's and counter projections' included. */
    keyPrefix: string;
    /** The projections this worker can rebuild, counter projections included. */
    projections: readonly AnyProjection[];
    logger: Logger;
    /** Jobs run at once by this process (each replays `replayConcurrency` partitions). @defaultValue 1 */
    concurrency?: number;
    /** Shows in logs and in the shares of a rebuild. @defaultValue host-pid-random */
    workerId?: string;
    /** Liveness heartbeat, which the queue counts to split rebuilds. @defaultValue 2000 */
    heartbeatMs?: number;
  };

export interface RebuildWorker {
  readonly id: string;
  /** Hands active jobs back to the queue (to be resumed elsewhere), then stops. Idempotent. */
  close(): Promise<void>;
}

/** A process that runs rebuild jobs from the queue. Signals are the caller's (main.ts) business. */
export async function startRebuildWorker(options: RebuildWorkerOptions): Promise<RebuildWorker> {
  const id = options.workerId ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  const logger = options.logger.child({ worker: id, component: 'rebuild-worker' });
  const { store, owned } = await openStore(options, 'refract-rebuild-worker');
  const redis = createRedisClient(options.redisUrl, {
    name: 'refract-rebuild-worker',
    failFast: false,
    overrides: { maxRetriesPerRequest: 2 },
  });
  const connection = bullConnection(options.redisUrl);
  const registry = new WorkerRegistry(redis, options.keyPrefix);
  const heartbeatMs = options.heartbeatMs ?? 2000;
  const shutdown = new AbortController();
  const ctx: ProcessorContext = {
    workerId: id,
    store,
    table: new RebuildTable(store.pool),
    projections: new Map(options.projections.map((p) => [p.name, p])),
    counters: { redis, keyPrefix: options.keyPrefix },
    logger,
    settings: options,
    shutdown: shutdown.signal,
  };

  const worker = new Worker(REBUILD_QUEUE, createRebuildProcessor(ctx), {
    connection,
    prefix: bullPrefix(options.keyPrefix),
    concurrency: options.concurrency ?? 1,
    lockDuration: options.lockDurationMs ?? 30_000,
    stalledInterval: options.stalledIntervalMs ?? 15_000,
    maxStalledCount: options.maxStalledCount ?? 3,
    autorun: false,
  });
  worker.on('error', (error) => logger.warn({ err: error }, 'rebuild worker redis error'));
  worker.on('failed', (job, error) => {
    onJobFailed(ctx, job, error).catch((e) =>
      logger.warn({ err: e }, 'recording a failure failed'),
    );
  });
  worker.on('stalled', (jobId) => logger.warn({ job: jobId }, 'rebuild job stalled; handed over'));

  const beat = () =>
    registry
      .heartbeat(id, heartbeatMs * 3)
      .catch((error) => logger.warn({ err: error }, 'rebuild worker heartbeat failed'));
  await beat();
  const timer = setInterval(beat, heartbeatMs);
  void worker.run().catch((error) => logger.error({ err: error }, 'rebuild worker stopped'));
  await worker.waitUntilReady();
  logger.info({ projections: [...ctx.projections.keys()] }, 'rebuild worker started');

  let closing: Promise<void> | undefined;
  return {
    id,
    close() {
      closing ??= (async () => {
        clearInterval(timer);
        shutdown.abort(new Error('rebuild worker shutting down'));
        await worker.close().catch((error) => logger.warn({ err: error }, 'worker close failed'));
        await registry.leave(id).catch(() => {});
        redis.disconnect();
        connection.disconnect();
        if (owned) await store.close();
        logger.info('rebuild worker stopped');
      })();
      return closing;
    },
  };
}
